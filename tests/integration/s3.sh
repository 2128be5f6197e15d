#!/usr/bin/env bash
# What only the S3 backend has, through the kiln binary against s3rver and the test proxy that
# scripts/test.sh starts: the AWS CLI reads back what publish wrote; faults on cue (503 SlowDown,
# a connection dropped mid-body, 500s past the retries, 403 SignatureDoesNotMatch); credentials
# missing, from a stand-in instance metadata service, or refused; a bucket that does not exist, an
# endpoint that is down; a publish racing a gc. No root, no network.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/store_lib.sh"
[ -n "${KILN_TEST_S3_ENDPOINT:-}" ] || skip "no S3 test server (scripts/test.sh starts one)"
AWS=/usr/bin/aws # Debian's awscli, not whatever else PATH has
[ -x "$AWS" ] || skip "Debian's awscli is not installed"

PROXY=$KILN_TEST_S3_CAS_ENDPOINT
RUN=$(basename "$WORK")
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export KILN_S3_ENDPOINT="$KILN_TEST_S3_ENDPOINT"
export KILN_STORE="s3://kiln/$RUN/store"
faults() { curl -fsS -X POST --data "$1" "$PROXY/__faults" >/dev/null; }
no_faults() { curl -fsS -X DELETE "$PROXY/__faults" >/dev/null; }
faulted() { curl -fsS "$PROXY/__stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["faulted"])'; }

make_tree "$WORK/tree1" 12 one
make_out "$WORK/out1" 1.0.0 "$WORK/tree1"
cp -a "$WORK/tree1" "$WORK/tree2"
make_tree "$WORK/tree2/usr/share/new" 1 two
make_out "$WORK/out2" 1.1.0 "$WORK/tree2"

step "publish, then the AWS CLI lists and reads the same objects"
expect_exit 0 -- "$KILN" publish "$WORK/out1" --json
"$AWS" --endpoint-url "$KILN_TEST_S3_ENDPOINT" s3 ls --recursive "s3://kiln/$RUN/store/" \
  >"$WORK/listing" || fail "aws s3 ls"
expect_in "$WORK/listing" "$RUN/store/kiln-store.json"
expect_in "$WORK/listing" "$RUN/store/documents/images/agent/versions/1.0.0"
pack=$(awk '/\/packs\// {print $4; exit}' "$WORK/listing")
[ -n "$pack" ] || fail "no pack in the listing"
"$AWS" --endpoint-url "$KILN_TEST_S3_ENDPOINT" s3 cp "s3://kiln/$pack" "$WORK/pack" >/dev/null ||
  fail "aws s3 cp of a pack"
[ "$(sha256sum "$WORK/pack" | cut -d' ' -f1)" = "$(basename "$pack")" ] ||
  fail "a pack's name is not the sha256 of what the AWS CLI downloads"
"$AWS" --endpoint-url "$KILN_TEST_S3_ENDPOINT" s3 cp \
  "s3://kiln/$RUN/store/documents/images/agent/versions/1.0.0" "$WORK/version.json" >/dev/null
expect_exit 0 -- "$KILN" show agent@1.0.0 --json
python3 - "$WORK/version.json" "$WORK/out" <<'PY' || fail "the version document differs"
import json, sys
stored = json.load(open(sys.argv[1]))
shown = json.load(open(sys.argv[2]))
files = {f["path"]: f["sha256"] for f in stored["version"]["files"]}
assert files.get("rootfs.tar.zst"), files
assert json.dumps(shown).find(files["rootfs.tar.zst"]) >= 0
PY

step "503 SlowDown on uploads and a connection dropped mid-body on reads are retried"
export KILN_S3_ENDPOINT="$PROXY"
faults '[{"method": "PUT", "key": "/packs/", "status": 503, "code": "SlowDown", "times": 2},
         {"method": "GET", "key": "/packs/", "drop": true, "times": 1}]'
expect_exit 0 -- "$KILN" publish "$WORK/out2"
expect_exit 0 -- "$KILN" pull agent@1.1.0 --to "$WORK/pulled"
diff -r "$WORK/out2" "$WORK/pulled" || fail "the pulled folder differs"
[ "$(faulted)" = 3 ] || fail "the proxy injected $(faulted) faults, not 3"
no_faults

step "a server that keeps failing: a clear error, no version, the next publish completes"
make_tree "$WORK/tree3" 2 three
make_out "$WORK/out3" 1.2.0 "$WORK/tree3"
faults '[{"method": "PUT", "key": "/index/", "status": 500, "times": 100}]'
expect_exit 4 -- "$KILN" publish "$WORK/out3"
expect_in "$WORK/err" "s3://kiln/$RUN/store/index/"
expect_in "$WORK/err" "HTTP 500"
no_faults
expect_exit 4 -- "$KILN" show agent@1.2.0
expect_exit 0 -- "$KILN" store fsck
expect_in "$WORK/out" "that no index lists" # the packs it uploaded
expect_exit 0 -- "$KILN" publish "$WORK/out3"
expect_exit 0 -- "$KILN" gc --keep-newest 100
expect_exit 0 -- "$KILN" store fsck --json
[ "$(json_field "$WORK/out" "d['notes'] + d['problems']")" = "[]" ] || fail "fsck after gc"

step "403 SignatureDoesNotMatch is not retried, and says what to check"
faults '[{"method": "PUT", "key": "", "status": 403, "code": "SignatureDoesNotMatch", "times": 100}]'
expect_exit 4 -- "$KILN" promote agent@1.1.0 --to dev
expect_in "$WORK/err" "HTTP 403 SignatureDoesNotMatch"
[ "$(faulted)" = 1 ] || fail "a 403 was sent $(faulted) times"
no_faults

step "a damaged pack: fsck and pull name the chunk"
export KILN_S3_ENDPOINT="$KILN_TEST_S3_ENDPOINT"
# A byte flipped in the middle of every pack, so that every version reads a damaged chunk.
packs=$(find "$KILN_TEST_S3_DATA/kiln/$RUN/store/packs" -name '*._S3rver_object')
[ -n "$packs" ] || fail "no pack file in s3rver's folder"
mkdir -p "$WORK/packs.bak"
for pack_file in $packs; do
  cp "$pack_file" "$WORK/packs.bak/$(basename "$pack_file")"
  python3 - "$pack_file" <<'PY'
import sys
data = bytearray(open(sys.argv[1], 'rb').read())
trailer = int.from_bytes(data[-16:-8], "little")
data[(len(data) - 16 - trailer) // 2] ^= 0x01
open(sys.argv[1], 'wb').write(data)
PY
done
expect_exit 4 -- "$KILN" store fsck
expect_in "$WORK/out" "is damaged"
expect_exit 4 -- "$KILN" pull agent@1.0.0 --to "$WORK/damaged"
expect_in "$WORK/err" "(blob "
[ ! -e "$WORK/damaged" ] || fail "a failed pull left a folder"
for pack_file in $packs; do cp "$WORK/packs.bak/$(basename "$pack_file")" "$pack_file"; done
expect_exit 0 -- "$KILN" store fsck

step "missing credentials name every source tried; a wrong bucket and a dead endpoint are named"
expect_exit 4 -- env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$KILN" ls
expect_in "$WORK/err" "AWS_ACCESS_KEY_ID"
expect_in "$WORK/err" "instance metadata"
expect_exit 4 -- "$KILN" ls --store "s3://no-such-bucket-$$/x"
expect_in "$WORK/err" "NoSuchBucket"
expect_exit 4 -- "$KILN" ls --store "s3://kiln/$RUN/nothing-here"
expect_in "$WORK/err" "there is no kiln store at s3://kiln/$RUN/nothing-here/"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
expect_exit 4 -- "$KILN" ls --endpoint "http://127.0.0.1:$port"
expect_in "$WORK/err" "got no answer"
expect_in "$WORK/err" "http://127.0.0.1:$port"

step "an agent with an instance role and no keys: credentials from the metadata service (IMDSv2)"
cat >"$WORK/imds.py" <<'PY'
import http.server, json, sys
TOKEN = "imds-token-1"
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def reply(self, code, body):
        self.send_response(code); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body.encode())
    def do_PUT(self):
        if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            return self.reply(200, TOKEN)
        self.reply(400, "")
    def do_GET(self):
        if self.headers.get("X-aws-ec2-metadata-token") != TOKEN:
            return self.reply(401, "")  # IMDSv1 is refused, as on an instance that requires v2
        base = "/latest/meta-data/iam/security-credentials/"
        if self.path == base:
            return self.reply(200, "agent-role")
        if self.path == base + "agent-role":
            return self.reply(200, json.dumps({"Code": "Success", "AccessKeyId": "S3RVER",
                "SecretAccessKey": "S3RVER", "Token": "session", "Expiration": "2099-01-01T00:00:00Z"}))
        self.reply(404, "")
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
python3 "$WORK/imds.py" >"$WORK/imds.port" & imds=$!
for _ in $(seq 50); do [ -s "$WORK/imds.port" ] && break; sleep 0.1; done
expect_exit 0 -- env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_EC2_METADATA_DISABLED \
  AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:$(cat "$WORK/imds.port")" "$KILN" ls
expect_in "$WORK/out" "agent"
kill $imds

step "a publish racing a gc: both finish, nothing a version needs is removed"
for i in 1 2 3; do
  make_tree "$WORK/race/tree-$i" 3 "race$i"
  make_out "$WORK/race/out-$i" "2.0.$i" "$WORK/race/tree-$i"
  "$KILN" publish "$WORK/race/out-$i" >"$WORK/race-p.log" 2>&1 & p=$!
  "$KILN" gc --keep-newest 1 --keep-younger-than 0s >"$WORK/race-g.log" 2>&1 & g=$!
  wait $p || fail "publish beside gc: $(cat "$WORK/race-p.log")"
  wait $g || fail "gc beside publish: $(cat "$WORK/race-g.log")"
  expect_exit 0 -- "$KILN" verify "agent@2.0.$i"
done
expect_exit 0 -- "$KILN" store fsck
expect_in "$WORK/out" "no problems"
