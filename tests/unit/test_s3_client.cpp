// The S3 client against canned answers: a 301 naming the bucket's region is followed once and
// signed for that region; SlowDown and 5xx are sent again, a 403 is not; what S3 said is in the
// error with the object and the status; a listing that never ends is refused.
#include "canned_server.hpp"
#include "cloud/s3.hpp"
#include "fake_keys.hpp"

#include <gtest/gtest.h>

namespace {

using kiln::test::CannedServer;
using kiln::test::reply;

std::shared_ptr<kiln::cloud::CredentialSource> keys()
{
  return kiln::test::fake_keys("AKIDEXAMPLE", "secret");
}

kiln::cloud::S3Client client_for(const CannedServer& server)
{
  kiln::cloud::S3Settings settings;
  settings.endpoint = server.url("");
  settings.retry = {3, 0.01, 0.02};
  return kiln::cloud::S3Client("bucket", settings, keys(), "us-east-1");
}

std::string error_xml(const std::string& code, const std::string& extra = "")
{
  return "<?xml version=\"1.0\"?><Error><Code>" + code + "</Code><Message>m</Message>" + extra +
         "</Error>";
}

TEST(s3_client, a_301_naming_the_region_is_followed_and_signed_for_it)
{
  CannedServer server(
      {reply(301, "x-amz-bucket-region: eu-west-1\r\n", error_xml("PermanentRedirect")),
       reply(200, "", "hello")});
  auto client = client_for(server);
  auto got = client.get("key");
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(**got, "hello");
  ASSERT_EQ(server.requests().size(), 2u);
  EXPECT_NE(server.requests()[0].find("/us-east-1/s3/aws4_request"), std::string::npos);
  EXPECT_NE(server.requests()[1].find("/eu-west-1/s3/aws4_request"), std::string::npos);
}

TEST(s3_client, slow_down_and_server_errors_are_sent_again)
{
  CannedServer server({reply(503, "", error_xml("SlowDown")),
                       reply(500, "", error_xml("InternalError")), reply(200, "", "at last")});
  auto client = client_for(server);
  auto got = client.get("key");
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(**got, "at last");
  EXPECT_EQ(client.requests(), 3u);
}

TEST(s3_client, a_403_is_not_sent_again_and_the_error_says_what_s3_said)
{
  CannedServer server({reply(403, "", error_xml("SignatureDoesNotMatch"))});
  auto client = client_for(server);
  auto got = client.get("images/key");
  ASSERT_FALSE(got);
  EXPECT_EQ(client.requests(), 1u);
  const auto& message = got.error().message;
  EXPECT_NE(message.find("s3://bucket/images/key"), std::string::npos) << message;
  EXPECT_NE(message.find("HTTP 403 SignatureDoesNotMatch"), std::string::npos) << message;
  EXPECT_FALSE(got.error().hint.empty());
}

TEST(s3_client, too_many_failures_end_with_the_last_answer)
{
  CannedServer server({reply(503, "", error_xml("SlowDown")), reply(503, "", error_xml("SlowDown")),
                       reply(503, "", error_xml("SlowDown"))});
  auto client = client_for(server);
  auto put = client.put("key", "body");
  ASSERT_FALSE(put);
  EXPECT_EQ(client.requests(), 3u);
  EXPECT_NE(put.error().message.find("HTTP 503 SlowDown"), std::string::npos);
}

TEST(s3_client, a_listing_that_hands_back_the_same_token_is_refused)
{
  std::string page = "<ListBucketResult><IsTruncated>true</IsTruncated>"
                     "<NextContinuationToken>again</NextContinuationToken>"
                     "<Contents><Key>p/a</Key><Size>1</Size><ETag>\"e\"</ETag>"
                     "<LastModified>2026-01-01T00:00:00.000Z</LastModified></Contents>"
                     "</ListBucketResult>";
  CannedServer server({reply(200, "", page), reply(200, "", page)});
  auto client = client_for(server);
  auto listed = client.list("p/");
  ASSERT_FALSE(listed);
  EXPECT_NE(listed.error().message.find("does not end"), std::string::npos);
}

TEST(s3_client, urls_name_a_bucket_and_a_prefix)
{
  auto url = kiln::cloud::parse_s3_url("s3://agent-images/kiln/store");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->bucket, "agent-images");
  EXPECT_EQ(url->prefix, "kiln/store/");
  EXPECT_FALSE(kiln::cloud::parse_s3_url("s3://Bad_Bucket/x"));
  EXPECT_FALSE(kiln::cloud::parse_s3_url("s3:///x"));
  EXPECT_FALSE(kiln::cloud::parse_s3_url("https://bucket/x"));
}

} // namespace
