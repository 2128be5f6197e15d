// AWS Signature Version 4: the canonical request, the string to sign and the signature of an HTTP
// request, with the Authorization header or as a presigned URL's query. Pure functions of their
// inputs (the time is given), proven against the AWS SigV4 test suite (tests/unit/test_sigv4.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace kiln::cloud {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token; // "" unless temporary credentials
  std::string source;        // where they came from, for messages: "environment", ...
  int64_t expiration = 0;    // Unix time they stop working; 0: never
};

using Headers = std::vector<std::pair<std::string, std::string>>;

struct RequestToSign {
  std::string method;  // GET, PUT, ...
  std::string path;    // as it is to be sent, not yet percent-encoded: "/bucket/key with space"
  std::string query;   // after '?', as in the request line (its parts may be percent-encoded)
  Headers headers;     // every header to send, Host among them
  std::string payload; // hex sha256 of the body, or "UNSIGNED-PAYLOAD"
};

struct SigningScope {
  std::string region;  // "eu-west-1"
  std::string service; // "s3"
  int64_t time = 0;    // Unix time of the request
};

enum class SignMode { header, query };

struct SignOptions {
  // Remove "." and ".." segments and repeated slashes from the path; S3 wants its keys as they
  // are (false).
  bool normalize_path = true;
  // Header mode: also send (and sign) x-amz-content-sha256 with the payload's hash (S3 needs it).
  bool content_sha256_header = false;
  // Send the session token without signing it (some services want it so).
  bool omit_session_token = false;
  int64_t expires = 3600; // query mode: seconds the URL is valid
};

struct SignedRequest {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;
  Headers headers;   // header mode: what to add (X-Amz-Date, tokens, Authorization)
  std::string query; // the query string to send (query mode: with the X-Amz-* parameters)
};

SignedRequest sign(const RequestToSign& request, const Credentials& credentials,
                   const SigningScope& scope, SignMode mode, const SignOptions& options = {});

// Percent-encoding as SigV4 wants it: every byte but A-Z a-z 0-9 - . _ ~ (and '/' when
// `keep_slash`) as %XX with upper-case hex.
std::string uri_encode(const std::string& text, bool keep_slash);

// "20150830T123600Z" for a Unix time.
std::string amz_date(int64_t time);

} // namespace kiln::cloud
