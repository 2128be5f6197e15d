#include "util/http.hpp"

#include "util/interrupt.hpp"
#include "util/strings.hpp"

#include <cctype>
#include <cstdio>
#include <curl/curl.h>
#include <memory>

namespace kiln::util {

namespace {

struct Transfer {
  const HttpRequest* request = nullptr;
  HttpResponse* response = nullptr;
  bool stopped = false;   // on_body asked to stop
  bool too_large = false; // the kept body or the headers passed their bound
  size_t header_bytes = 0;
};

size_t write_body(char* data, size_t size, size_t count, void* user)
{
  auto* transfer = static_cast<Transfer*>(user);
  std::string_view piece(data, size * count);
  if (transfer->request->on_body) {
    if (!transfer->request->on_body(piece)) {
      transfer->stopped = true;
      return 0; // aborts the transfer
    }
  } else {
    if (transfer->response->body.size() + piece.size() > transfer->request->max_body) {
      transfer->too_large = true;
      return 0; // aborts the transfer
    }
    transfer->response->body.append(piece);
  }
  return piece.size();
}

size_t read_body(char* buffer, size_t size, size_t count, void* user)
{
  auto* transfer = static_cast<Transfer*>(user);
  return transfer->request->body_source(buffer, size * count);
}

size_t write_header(char* data, size_t size, size_t count, void* user)
{
  auto* transfer = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  transfer->header_bytes += line.size();
  if (transfer->header_bytes > kMaxHttpHeaders) {
    transfer->too_large = true;
    return 0; // aborts the transfer
  }
  if (line.rfind("HTTP/", 0) == 0)
    transfer->response->headers.clear(); // a new response (after a redirect or a 100)
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(trim(line.substr(0, colon)));
    for (auto& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    transfer->response->headers.emplace_back(name, std::string(trim(line.substr(colon + 1))));
  }
  return line.size();
}

int on_progress(void* user, curl_off_t total, curl_off_t done, curl_off_t, curl_off_t)
{
  auto* transfer = static_cast<Transfer*>(user);
  if (interrupt_signal() != 0)
    return 1; // aborts the transfer
  if (transfer->request->progress)
    transfer->request->progress(static_cast<double>(done), static_cast<double>(total));
  return 0;
}

void init_curl_once()
{
  static bool done = [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return true;
  }();
  (void)done;
}

using CurlHandle = std::unique_ptr<CURL, void (*)(CURL*)>;
using HeaderList = std::unique_ptr<curl_slist, void (*)(curl_slist*)>;

void set_method(CURL* curl, const HttpRequest& request, Transfer* transfer)
{
  if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (request.method == "PUT" || request.method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    if (request.body_source) {
      curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_body);
      curl_easy_setopt(curl, CURLOPT_READDATA, transfer);
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body_size));
    } else {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
    }
    if (request.method == "PUT")
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "PUT");
  } else if (request.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
}

} // namespace

std::optional<std::string> HttpResponse::header(std::string_view name) const
{
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() &&
        std::equal(key.begin(), key.end(), name.begin(),
                   [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); }))
      return value;
  }
  return std::nullopt;
}

std::string redact_url(std::string_view url)
{
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos)
    return std::string(url);
  size_t host_start = scheme + 3;
  size_t path_start = url.find('/', host_start);
  size_t at = url.find('@', host_start);
  if (at == std::string_view::npos || (path_start != std::string_view::npos && at > path_start))
    return std::string(url);
  return std::string(url.substr(0, host_start)) + "***@" + std::string(url.substr(at + 1));
}

namespace {

// One handle per thread, reset before each request: its connection cache keeps connections to a
// server open between requests (an S3 store makes many).
CURL* thread_handle()
{
  thread_local CurlHandle handle(nullptr, curl_easy_cleanup);
  if (!handle) {
    init_curl_once();
    handle.reset(curl_easy_init());
  } else {
    curl_easy_reset(handle.get());
  }
  return handle.get();
}

// The request; a failure reads "FAILURE: why" (e.g. "GET URL: Connection refused"). A failure to
// get an answer at all (no connection, a reset, a timeout) is left in `transport_failure`.
Expected<HttpResponse> perform(const HttpRequest& request, const std::string& failure)
{
  CURL* c = thread_handle();
  if (!c)
    return make_error(ExitCode::environment, "cannot start an HTTP client (curl_easy_init)");
  HttpResponse response;
  Transfer transfer{&request, &response};
  curl_slist* list = nullptr;
  auto add = [&](const std::string& line) {
    if (curl_slist* more = curl_slist_append(list, line.c_str()))
      list = more;
  };
  for (const auto& [name, value] : request.headers)
    add(name + ": " + value);
  if (request.method == "PUT" || request.method == "POST")
    add("Expect:"); // no "100-continue" round trip before the body
  HeaderList headers(list, curl_slist_free_all);
  char error_buffer[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  set_method(c, request, &transfer);
  std::string range;
  if (request.range) {
    range = std::to_string(request.range->first) + "-" + std::to_string(request.range->second);
    curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());
  }
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, request.follow_redirects ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
  if (request.timeout_seconds > 0)
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout_seconds * 1000));
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http,file");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, write_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &transfer);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer);
  CURLcode code = curl_easy_perform(c);
  if (code == CURLE_ABORTED_BY_CALLBACK && interrupt_signal() != 0)
    return make_error(ExitCode::interrupted, failure + ": interrupted");
  if (code == CURLE_WRITE_ERROR && transfer.too_large)
    return make_error(ExitCode::input, failure + ": the answer is larger than " +
                                           std::to_string(request.max_body) + " bytes (body) or " +
                                           std::to_string(kMaxHttpHeaders) + " (headers)");
  if (code == CURLE_WRITE_ERROR && transfer.stopped)
    return make_error(ExitCode::input, failure + ": the body was refused");
  if (code != CURLE_OK) {
    std::string why = error_buffer[0] ? error_buffer : curl_easy_strerror(code);
    response.status = 0;
    response.transport_failure = failure + ": " + why;
    return response;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

Expected<HttpResponse> answered(Expected<HttpResponse> response)
{
  if (response && !response->transport_failure.empty())
    return make_error(ExitCode::input, response->transport_failure,
                      "check the URL and that this machine can reach it");
  return response;
}

} // namespace

Expected<HttpResponse> http_request(const HttpRequest& request)
{
  return answered(perform(request, request.method + " " + redact_url(request.url)));
}

Expected<HttpResponse> http_attempt(const HttpRequest& request)
{
  return perform(request, request.method + " " + redact_url(request.url));
}

Status download(const std::string& url, const std::filesystem::path& dest,
                const DownloadProgress& progress)
{
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(dest.c_str(), "wb"), std::fclose);
  if (!file)
    return errno_error("cannot create", dest.string(), errno);
  HttpRequest request;
  request.url = url;
  request.follow_redirects = true;
  request.progress = progress;
  bool write_failed = false;
  request.on_body = [&](std::string_view piece) {
    write_failed = std::fwrite(piece.data(), 1, piece.size(), file.get()) != piece.size();
    return !write_failed;
  };
  auto response = answered(perform(request, "cannot download " + redact_url(url)));
  if (write_failed || std::fflush(file.get()) != 0)
    return errno_error("cannot write", dest.string(), errno);
  if (!response && response.error().code == ExitCode::interrupted)
    return make_error(ExitCode::interrupted, "download of " + redact_url(url) + " interrupted");
  if (!response)
    return std::move(response).error();
  // file:// has no status; http(s) must answer 2xx.
  if (response->status != 0 && (response->status < 200 || response->status > 299))
    return make_error(ExitCode::input,
                      "cannot download " + redact_url(url) + ": the server answered HTTP " +
                          std::to_string(response->status),
                      "check the URL and that this machine can reach it");
  return ok_status();
}

} // namespace kiln::util
