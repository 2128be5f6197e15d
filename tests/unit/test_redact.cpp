// util/redact: hiding secret values in text and finding them in data.
#include "test_support.hpp"
#include "util/redact.hpp"
#include "util/strings.hpp"

#include <gtest/gtest.h>

using kiln::util::Redactor;

namespace {

TEST(redact, replaces_the_value_and_its_encoded_forms)
{
  Redactor r;
  r.add("token", "p@ss w0rd!");
  EXPECT_EQ(r.apply("x p@ss w0rd! y"), "x [secret token] y");
  EXPECT_EQ(r.apply("b64 cEBzcyB3MHJkIQ=="), "b64 [secret token]==");
  EXPECT_EQ(r.apply("url p%40ss%20w0rd%21"), "url [secret token]");
  EXPECT_EQ(r.apply("nothing here"), "nothing here");
}

// Logs are redacted line by line: a value of several lines was once shown in clear.
TEST(redact, a_value_of_several_lines_is_hidden_line_by_line)
{
  Redactor r;
  r.add("key", "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nok\n-----END KEY-----\n");
  EXPECT_EQ(r.apply("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"), "[secret key]");
  EXPECT_EQ(r.apply("-----END KEY-----"), "[secret key]");
  EXPECT_EQ(r.apply("ok"), "ok"); // too short to hide without hiding common words
  EXPECT_EQ(r.find_in("x MIIEvQIBADANBgkqhkiG9w0BAQEFAASC y"), "key");
}

TEST(redact, a_value_in_a_file_name_is_found)
{
  kiln::test::TempDir dir("redact");
  dir.write("opt/leak/name-tok123456789", "harmless content");
  Redactor r;
  r.add("token", "tok123456789");
  auto found = r.find_in_tree(dir.path());
  ASSERT_TRUE(found);
  ASSERT_TRUE(*found);
  EXPECT_EQ((*found)->second, "token");
}

TEST(redact, known_base64_and_url_encoding)
{
  EXPECT_EQ(kiln::util::base64_encode("abc"), "YWJj");
  EXPECT_EQ(kiln::util::base64_encode("ab"), "YWI=");
  EXPECT_EQ(kiln::util::base64_encode("a"), "YQ==");
  EXPECT_EQ(kiln::util::base64_decode("YWJj"), "abc");
  EXPECT_EQ(kiln::util::base64_decode("YWI="), "ab");
  EXPECT_EQ(kiln::util::base64_decode("YQ=="), "a");
  EXPECT_EQ(kiln::util::base64_decode(""), "");
  EXPECT_FALSE(kiln::util::base64_decode("YQ="));
  EXPECT_FALSE(kiln::util::base64_decode("Y!=="));
  EXPECT_EQ(kiln::util::url_encode("a b/c"), "a%20b%2Fc");
}

TEST(redact, finds_a_value_split_across_chunks)
{
  Redactor r;
  r.add("key", "ABCDEFGHIJ");
  Redactor::Scanner scanner(r);
  scanner.feed("xxxxxABCDE");
  EXPECT_FALSE(scanner.found());
  scanner.feed("FGHIJyyyy");
  ASSERT_TRUE(scanner.found());
  EXPECT_EQ(*scanner.found(), "key");
}

TEST(redact, finds_the_file_that_holds_a_secret)
{
  kiln::test::TempDir dir("redact");
  dir.write("etc/clean", "nothing");
  dir.write("etc/agent/config", std::string(100000, 'x') + "token=hunter2-value\n");
  Redactor r;
  r.add("token", "hunter2-value");
  auto found = r.find_in_tree(dir.path());
  ASSERT_TRUE(found);
  ASSERT_TRUE(*found);
  EXPECT_EQ((*found)->first, "etc/agent/config");
  EXPECT_EQ((*found)->second, "token");
  Redactor none;
  EXPECT_FALSE(*none.find_in_tree(dir.path()));
}

} // namespace
