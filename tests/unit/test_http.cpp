// The HTTP client against a small server on 127.0.0.1 that answers each connection with a
// canned reply and keeps what it was sent.
#include "test_support.hpp"
#include "util/fs.hpp"
#include "util/http.hpp"

#include "canned_server.hpp"

#include <algorithm>
#include <gtest/gtest.h>

namespace {

using kiln::test::CannedServer;
using kiln::test::reply;
using kiln::util::HttpRequest;

TEST(http, a_request_gives_status_headers_and_body)
{
  CannedServer server({reply(200, "ETag: \"abc\"\r\n", "hello"),
                       reply(412, "", "precondition failed"), reply(206, "", "ell")});
  HttpRequest get;
  get.url = server.url("/bucket/key");
  auto got = kiln::util::http_request(get);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(got->body, "hello");
  EXPECT_EQ(got->header("etag"), "\"abc\"");
  EXPECT_EQ(got->header("ETag"), "\"abc\"");
  EXPECT_FALSE(got->header("x-missing"));

  // A status is an answer, not an error: the caller decides what 412 means.
  HttpRequest put;
  put.method = "PUT";
  put.url = server.url("/bucket/doc");
  put.headers = {{"If-None-Match", "*"}};
  put.body = "version document";
  auto refused = kiln::util::http_request(put);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 412);

  HttpRequest ranged;
  ranged.url = server.url("/bucket/pack");
  ranged.range = std::pair<uint64_t, uint64_t>{1, 3};
  std::string streamed;
  ranged.on_body = [&](std::string_view piece) {
    streamed += piece;
    return true;
  };
  auto part = kiln::util::http_request(ranged);
  ASSERT_TRUE(part);
  EXPECT_EQ(part->status, 206);
  EXPECT_EQ(streamed, "ell");
  EXPECT_TRUE(part->body.empty()); // streamed, not kept

  const auto& sent = server.requests();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[0].rfind("GET /bucket/key HTTP/1.1\r\n", 0), 0u) << sent[0];
  EXPECT_EQ(sent[1].rfind("PUT /bucket/doc HTTP/1.1\r\n", 0), 0u) << sent[1];
  EXPECT_NE(sent[1].find("If-None-Match: *\r\n"), std::string::npos);
  EXPECT_NE(sent[1].find("\r\n\r\nversion document"), std::string::npos);
  EXPECT_EQ(sent[1].find("Expect:"), std::string::npos);
  EXPECT_NE(sent[2].find("Range: bytes=1-3\r\n"), std::string::npos);
}

// An upload read piece by piece (as from a file) arrives whole, with its length.
TEST(http, a_body_can_be_streamed_from_a_source)
{
  CannedServer server({reply(200, "", "")});
  std::string content(200000, 'b');
  content += "end";
  size_t sent = 0;
  HttpRequest put;
  put.method = "PUT";
  put.url = server.url("/bucket/pack");
  put.body_size = content.size();
  put.body_source = [&](char* buffer, size_t size) {
    size_t n = std::min(size, content.size() - sent);
    std::copy_n(content.data() + sent, n, buffer);
    sent += n;
    return n;
  };
  auto response = kiln::util::http_request(put);
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 200);
  const std::string& request = server.requests().at(0);
  EXPECT_NE(request.find("Content-Length: " + std::to_string(content.size()) + "\r\n"),
            std::string::npos);
  EXPECT_EQ(request.substr(request.find("\r\n\r\n") + 4), content);
}

// A reply is hostile: a body larger than the request allows is refused, not kept.
TEST(http, a_body_past_its_bound_is_refused)
{
  CannedServer server({reply(200, "", std::string(5000, 'x'))});
  HttpRequest get;
  get.url = server.url("/big");
  get.max_body = 1000;
  auto got = kiln::util::http_request(get);
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().message.find("the answer is larger than 1000 bytes"), std::string::npos)
      << got.error().message;
}

TEST(http, failures_name_the_url_without_its_credentials)
{
  HttpRequest request;
  request.url = "http://user:secret@127.0.0.1:9/x";
  auto failed = kiln::util::http_request(request);
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().message.find("GET http://***@127.0.0.1:9/x: "), std::string::npos)
      << failed.error().message;
  EXPECT_EQ(failed.error().message.find("secret"), std::string::npos);
}

TEST(http, download_refuses_an_error_status_and_keeps_a_good_body)
{
  kiln::test::TempDir dir("http");
  CannedServer server({reply(404, "", "not here"), reply(200, "", "tool bytes")});
  auto missing = kiln::util::download(server.url("/tool"), dir.path() / "tool", nullptr);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("cannot download " + server.url("/tool") +
                                         ": the server answered HTTP 404"),
            std::string::npos)
      << missing.error().message;
  ASSERT_TRUE(kiln::util::download(server.url("/tool"), dir.path() / "tool", nullptr));
  EXPECT_EQ(*kiln::util::read_file(dir.path() / "tool"), "tool bytes");
}

} // namespace
