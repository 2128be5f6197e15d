#!/usr/bin/env python3
"""A proxy in front of a test S3 server that adds what the server lacks, for the tests.

  * Conditional writes: a PUT with If-None-Match: * or If-Match: ETAG is checked against the
    object (a HEAD upstream) and answered 412 when the condition fails, atomically with the
    write. s3rver ignores both headers; AWS S3 honours them. Reads and writes of documents are
    serialized too, so that a read never sees half a write, as on S3.
  * Faults on cue: POST /__faults with a JSON list of rules; each matches a method and a key
    substring and is used `times` times:
        {"method": "PUT", "key": "packs/", "status": 503, "code": "SlowDown", "times": 2}
        {"method": "GET", "key": "packs/", "drop": true}      # headers, half the body, close
        {"method": "PUT", "key": "", "status": 403, "code": "SignatureDoesNotMatch"}
    DELETE /__faults clears them and the count of faults; GET /__stats answers
    {"requests": N, "faulted": N, "bytes_up": N, "bytes_down": N}; DELETE /__stats zeroes it.

  usage: s3_proxy.py LISTEN_PORT UPSTREAM_PORT     (both on 127.0.0.1)
"""
import http.client
import http.server
import json
import sys
import threading

UPSTREAM = ("127.0.0.1", int(sys.argv[2]))
rules = []
stats = {"requests": 0, "faulted": 0, "bytes_up": 0, "bytes_down": 0}
state = threading.RLock()     # rules and stats
writes = threading.Lock()     # a conditional write: check and write as one


def error_xml(code, message):
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>%s</Code>"
            "<Message>%s</Message></Error>" % (code, message)).encode()


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def answer(self, status, body, headers=()):
        with state:
            stats["bytes_down"] += len(body)
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def upstream(self, method, body, extra_skip=()):
        skip = {"host", "connection", "if-none-match", "if-match"} | set(extra_skip)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
        connection = http.client.HTTPConnection(*UPSTREAM, timeout=60)
        connection.request(method, self.path, body=body, headers=headers)
        reply = connection.getresponse()
        data = reply.read()
        out = [(k, v) for k, v in reply.getheaders()
               if k.lower() not in ("content-length", "connection", "transfer-encoding")]
        connection.close()
        return reply.status, data, out

    def fault(self, method):
        key = self.path.split("?")[0]
        with state:
            stats["requests"] += 1
            for rule in rules:
                if rule.get("times", 1) <= 0:
                    continue
                if rule.get("method", method) == method and rule.get("key", "") in key:
                    rule["times"] = rule.get("times", 1) - 1
                    stats["faulted"] += 1
                    return rule
        return None

    def control(self, method, body):
        global rules
        if self.path == "/__faults" and method == "POST":
            with state:
                rules = json.loads(body)
            return self.answer(200, b"{}")
        if self.path == "/__faults" and method == "DELETE":
            with state:
                rules = []
                stats["faulted"] = 0
            return self.answer(200, b"{}")
        if self.path == "/__stats" and method == "DELETE":
            with state:
                for key in stats:
                    stats[key] = 0
            return self.answer(200, b"{}")
        if self.path == "/__stats":
            with state:
                return self.answer(200, json.dumps(stats).encode())
        return self.answer(404, b"")

    def handle_any(self, method):
        body = self.body()
        if self.path.startswith("/__"):
            return self.control(method, body)
        with state:
            stats["bytes_up"] += len(body)
        rule = self.fault(method)
        if rule and rule.get("drop"):
            status, data, headers = self.upstream(method, body)
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if rule:
            code = rule.get("code", "InternalError")
            return self.answer(rule.get("status", 500), error_xml(code, "injected by the test"))
        none_match = self.headers.get("If-None-Match")
        match = self.headers.get("If-Match")
        if method == "PUT" and (none_match or match):
            with writes:
                status, _, headers = self.upstream("HEAD", None, ("content-length",))
                etag = dict((k.lower(), v) for k, v in headers).get("etag")
                exists = status == 200
                if (none_match == "*" and exists) or (match and (not exists or etag != match)):
                    return self.answer(412, error_xml("PreconditionFailed", "condition"))
                return self.answer(*self.upstream(method, body))
        if "/documents/" in self.path:
            # Documents as S3 gives them: a read never sees a write half done (s3rver writes in
            # place, so a read racing a write can get part of the new body).
            with writes:
                return self.forward(method, body)
        return self.forward(method, body)

    def forward(self, method, body):
        if method != "HEAD":
            return self.answer(*self.upstream(method, body))
        status, _, headers = self.upstream(method, None)
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()

    def do_GET(self):
        self.handle_any("GET")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_POST(self):
        self.handle_any("POST")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def do_HEAD(self):
        self.handle_any("HEAD")


server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Proxy)
server.daemon_threads = True
server.serve_forever()
