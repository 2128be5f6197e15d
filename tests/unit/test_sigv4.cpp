// AWS Signature Version 4 against the AWS SigV4 test suite (../shared/testdata/aws-sigv4, or
// $KILN_SIGV4_SUITE): for every case, in header and in query mode, the canonical request, the
// string to sign and the signature must match the suite's files byte for byte, and so must the
// Authorization header (header mode) and the X-Amz-Signature the signed URL carries (query mode).
#include "cloud/sigv4.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

namespace fs = std::filesystem;
using kiln::cloud::SignMode;

fs::path suite_dir()
{
  if (const char* given = std::getenv("KILN_SIGV4_SUITE"))
    return given;
  return fs::path(KILN_SOURCE_DIR) / "../shared/testdata/aws-sigv4";
}

std::vector<std::string> cases()
{
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(suite_dir(), ec)) {
    if (fs::exists(entry.path() / "context.json"))
      names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  if (names.empty())
    names.push_back("the-suite-is-missing");
  return names;
}

std::string read(const fs::path& file)
{
  auto text = kiln::util::read_file(file);
  EXPECT_TRUE(text) << "cannot read " << file;
  return text ? *text : "";
}

// request.txt: "METHOD PATH HTTP/1.1", headers (a line starting with a space continues the one
// before), an empty line, the body.
struct RawRequest {
  std::string method, path, query, body;
  kiln::cloud::Headers headers;
};

RawRequest parse_request(const std::string& text)
{
  RawRequest request;
  size_t end = text.find('\n');
  std::string line = text.substr(0, end);
  request.method = line.substr(0, line.find(' '));
  std::string target = line.substr(line.find(' ') + 1, line.rfind(" HTTP/") - line.find(' ') - 1);
  size_t question = target.find('?');
  request.path = target.substr(0, question);
  request.query = question == std::string::npos ? "" : target.substr(question + 1);
  size_t at = end == std::string::npos ? text.size() : end + 1;
  while (at < text.size()) {
    size_t next = text.find('\n', at);
    std::string header = text.substr(at, next == std::string::npos ? std::string::npos : next - at);
    at = next == std::string::npos ? text.size() : next + 1;
    if (header.empty()) {
      request.body = text.substr(at);
      break;
    }
    if ((header[0] == ' ' || header[0] == '\t') && !request.headers.empty()) {
      request.headers.back().second += " " + header;
      continue;
    }
    size_t colon = header.find(':');
    request.headers.emplace_back(header.substr(0, colon), header.substr(colon + 1));
  }
  return request;
}

int64_t parse_time(const std::string& iso) // "2015-08-30T12:36:00Z"
{
  std::tm tm{};
  strptime(iso.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return static_cast<int64_t>(timegm(&tm));
}

class SigV4Suite : public ::testing::TestWithParam<std::string> {};

void check_mode(const fs::path& dir, SignMode mode)
{
  auto context = nlohmann::json::parse(read(dir / "context.json"));
  RawRequest raw = parse_request(read(dir / "request.txt"));
  kiln::cloud::Credentials credentials{context["credentials"]["access_key_id"],
                                       context["credentials"]["secret_access_key"],
                                       context["credentials"].value("token", ""), "the suite", 0};
  kiln::cloud::RequestToSign request{raw.method, raw.path, raw.query, raw.headers,
                                     kiln::util::sha256_hex(raw.body)};
  kiln::cloud::SigningScope scope{context["region"], context["service"],
                                  parse_time(context["timestamp"])};
  kiln::cloud::SignOptions options;
  options.normalize_path = context.value("normalize", true);
  options.content_sha256_header = mode == SignMode::header && context.value("sign_body", false);
  options.omit_session_token = context.value("omit_session_token", false);
  options.expires = context.value("expiration_in_seconds", 3600);
  auto signed_request = kiln::cloud::sign(request, credentials, scope, mode, options);
  std::string prefix = mode == SignMode::header ? "header-" : "query-";
  EXPECT_EQ(signed_request.canonical_request, read(dir / (prefix + "canonical-request.txt")));
  EXPECT_EQ(signed_request.string_to_sign, read(dir / (prefix + "string-to-sign.txt")));
  EXPECT_EQ(signed_request.signature, read(dir / (prefix + "signature.txt")));
  std::string expected = read(dir / (prefix + "signed-request.txt"));
  if (mode == SignMode::header) {
    std::string authorization;
    for (const auto& [name, value] : signed_request.headers) {
      if (name == "Authorization")
        authorization = "Authorization:" + value + "\n";
    }
    EXPECT_NE(expected.find(authorization), std::string::npos) << authorization;
  } else {
    EXPECT_NE(expected.find("&X-Amz-Signature=" + signed_request.signature), std::string::npos);
  }
}

TEST_P(SigV4Suite, header_and_query_signatures_match)
{
  fs::path dir = suite_dir() / GetParam();
  ASSERT_TRUE(fs::exists(dir / "context.json"))
      << "the AWS SigV4 suite is not at " << suite_dir() << " (set KILN_SIGV4_SUITE)";
  {
    SCOPED_TRACE("header mode");
    check_mode(dir, SignMode::header);
  }
  {
    SCOPED_TRACE("query mode");
    check_mode(dir, SignMode::query);
  }
}

INSTANTIATE_TEST_SUITE_P(aws, SigV4Suite, ::testing::ValuesIn(cases()), [](const auto& test) {
  std::string name = test.param;
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
});

} // namespace
