// An S3 client for one bucket: objects read (whole or a range), written (once with
// If-None-Match, or over an ETag with If-Match), deleted and listed, large ones in parallel parts
// (multipart upload), every request signed with SigV4, sent again with jittered backoff when it
// is idempotent and the answer says so, and bounded by a timeout. AWS itself (virtual-host
// addressing, the region from the settings, a 301 naming the bucket's region followed) or an
// S3-compatible server at an endpoint (MinIO, Ceph RGW, Garage: path-style by default).
//
// HTTP statuses are results: a 404 or a 412 is for the caller to judge. What the server said is
// turned into a message by error_of, naming the object, the call and the status.
#pragma once

#include "cloud/credentials.hpp"
#include "cloud/retry.hpp"
#include "util/error.hpp"
#include "util/http.hpp"

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace kiln::cloud {

struct S3Settings {
  std::string endpoint;           // "http://127.0.0.1:9000"; "" for AWS
  std::string region;             // "" : from the AWS settings, else us-east-1
  std::optional<bool> path_style; // default: path-style at an endpoint, virtual-host on AWS
  int transfers = 8;              // requests in flight at once
  uint64_t part_size = 8 << 20;   // multipart: each part; objects larger than 2 parts use it
  double timeout = 120;           // seconds for one request of a part's size or less
  RetryPolicy retry;
};

struct S3Object {
  std::string key;
  uint64_t size = 0;
  std::string etag;
  int64_t last_modified = 0; // Unix time, the server's clock
};

struct S3Call {
  std::string method = "GET";
  std::string key;   // "" for the bucket itself
  std::string query; // "list-type=2&prefix=..." (encoded as SigV4 wants it)
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::optional<std::pair<uint64_t, uint64_t>> range;
  std::function<bool(std::string_view)> on_body; // streamed instead of kept
  std::function<void()> on_restart;              // a streamed body is sent again from the start
  size_t max_body = util::kMaxHttpBody;
  bool idempotent = true;
};

class S3Client {
public:
  S3Client(std::string bucket, S3Settings settings, std::shared_ptr<CredentialSource> credentials,
           std::string region);

  // The call, signed and sent (again, when idempotent and worth it). An error only when no
  // answer came (after the retries: it names the object and what happened) or on interruption.
  Expected<util::HttpResponse> send(const S3Call& call);

  Expected<std::optional<std::string>> get(const std::string& key); // nullopt on 404
  Expected<std::string> get_range(const std::string& key, uint64_t first, uint64_t last);
  // Writes the object; larger than two parts, as a multipart upload in parallel parts.
  Status put(const std::string& key, std::string body);
  Status remove(const std::string& key); // a missing object is no error
  // Every object below `prefix`; `server_time`, when given, gets the server's clock at the
  // first page.
  Expected<std::vector<S3Object>> list(const std::string& prefix, int64_t* server_time = nullptr);
  // Streams the object to `dest`, with progress (bytes, total).
  Status get_to_file(const std::string& key, const std::string& dest,
                     const util::DownloadProgress& progress);

  // "s3://bucket/key".
  std::string name(const std::string& key) const;
  // The message for an answer that is not what the call wanted: the object, the call, the
  // status and S3's code and message, with a hint for the usual causes.
  Error error_of(const util::HttpResponse& response, const std::string& what,
                 const std::string& key) const;
  // The server's clock from an answer's Date header (0 when absent).
  static int64_t server_time_of(const util::HttpResponse& response);

  const std::string& bucket() const { return bucket_; }
  int transfers() const { return settings_.transfers; }
  // Requests sent so far (each attempt counts), for the benchmark and --json.
  uint64_t requests() const;
  void on_note(std::function<void(const std::string&)> note) { note_ = std::move(note); }

private:
  util::HttpRequest build(const S3Call& call, const std::string& region);
  Status put_multipart(const std::string& key, const std::string& body);
  void acquire();
  void release();

  std::string bucket_;
  S3Settings settings_;
  std::shared_ptr<CredentialSource> credentials_;
  mutable std::mutex mutex_;
  std::string region_;
  uint64_t requests_ = 0;
  std::condition_variable slots_free_;
  int in_flight_ = 0;
  std::function<void(const std::string&)> note_;
};

// "bucket" and "prefix/" from "s3://bucket/prefix" (the prefix without leading slashes, with one
// trailing slash unless empty); an error naming what is wrong with the URL.
struct S3Url {
  std::string bucket, prefix;
};
Expected<S3Url> parse_s3_url(const std::string& url);

// The body of an S3 error: its Code and Message ("" when it is none).
struct S3ErrorBody {
  std::string code, message, region;
};
S3ErrorBody parse_error_body(const std::string& xml);

// A ListObjectsV2 page.
struct S3ListPage {
  std::vector<S3Object> objects;
  bool truncated = false;
  std::string next_token;
};
Expected<S3ListPage> parse_list_page(const std::string& xml);

// Where an s3:// object is, and with which credentials: kiln.yaml's s3: (or the flags).
struct S3Access {
  std::string endpoint, region, profile, addressing;
};
// Downloads s3://BUCKET/KEY to `dest` with the credentials the AWS CLI would use (the
// artifact step's s3:// URLs).
Status download_s3(const std::string& url, const std::string& dest, const S3Access& access,
                   const util::DownloadProgress& progress);

} // namespace kiln::cloud
