// A small HTTP client on libcurl (https://, http:// and file:// URLs): one request, its
// status, headers and body, with conditional headers and ranges given as headers, bodies
// streamed both ways when asked, a timeout on every request, and an early stop when kiln is
// interrupted.
// HTTP statuses are results, not errors: the caller decides what a 404 or a 412 means.
#pragma once

#include "util/error.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kiln::util {

using DownloadProgress = std::function<void(double done_bytes, double total_bytes)>;

inline constexpr size_t kMaxHttpBody = 64 << 20;
inline constexpr size_t kMaxHttpHeaders = 1 << 20;

struct HttpRequest {
  std::string method = "GET"; // GET, HEAD, PUT, POST, DELETE
  std::string url;
  // Sent as given: "If-None-Match: *", "If-Match: ETAG", "Authorization: ...".
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body; // sent with PUT and POST
  // When set, the body is read from here instead of `body`: `body_size` bytes, piece by piece
  // (an upload from a file). It fills `buffer` with at most `size` bytes and returns how many.
  std::function<size_t(char* buffer, size_t size)> body_source;
  uint64_t body_size = 0;
  std::optional<std::pair<uint64_t, uint64_t>> range; // bytes FIRST-LAST, both included
  double timeout_seconds = 0;                         // 0: none beyond the stall limit
  // When set, the body is handed over piece by piece instead of kept; returning false stops.
  std::function<bool(std::string_view piece)> on_body;
  // A reply is hostile: a kept body, or the headers, larger than this fail the request.
  size_t max_body = kMaxHttpBody;
  DownloadProgress progress;
  bool follow_redirects = false; // to https:// only
};

struct HttpResponse {
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers; // names in lower case
  std::string body;                                         // unless the request streamed it
  // http_attempt only: why no answer came (no connection, a reset, a timeout); status is 0.
  std::string transport_failure;

  // The first header of that name (any case), or nullopt.
  std::optional<std::string> header(std::string_view name) const;
};

// Performs the request. Errors are what kept it from getting an answer (no connection, a
// timeout, an interruption, a refused body), named with the URL without its credentials.
Expected<HttpResponse> http_request(const HttpRequest& request);

// The same, except that a failure to get an answer is not an error but a response with status 0
// and `transport_failure` set: for a caller that retries (cloud/retry.hpp).
Expected<HttpResponse> http_attempt(const HttpRequest& request);

// Fetches `url` into `dest` (overwritten); a status other than 2xx is an error.
Status download(const std::string& url, const std::filesystem::path& dest,
                const DownloadProgress& progress);

// The URL with any user:password@ part removed, for logs and errors.
std::string redact_url(std::string_view url);

} // namespace kiln::util
