// What AWS needs whoever calls it: credentials in the AWS CLI's order (the environment, the
// shared files and their profiles, credential_process, the instance metadata service with an
// IMDSv2 token, here a stand-in on 127.0.0.1) and the region.
#include "canned_server.hpp"
#include "cloud/credentials.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>
#include <map>
#include <sys/stat.h>

namespace {

using kiln::cloud::AwsContext;
using kiln::test::CannedServer;
using kiln::test::reply;

// A context whose environment is `vars`, with HOME in a temporary folder and the metadata
// service switched off unless a test gives it an endpoint.
struct Env {
  kiln::test::TempDir home{"aws"};
  std::map<std::string, std::string> vars;

  Env() { vars = {{"HOME", home.path().string()}, {"AWS_EC2_METADATA_DISABLED", "true"}}; }
  AwsContext context(const std::string& profile = "") const
  {
    auto copy = vars;
    return AwsContext{[copy](const std::string& name) {
                        auto it = copy.find(name);
                        return it == copy.end() ? std::string() : it->second;
                      },
                      profile};
  }
};

TEST(credentials, the_environment_comes_first_unless_a_profile_is_given)
{
  Env env;
  env.vars["AWS_ACCESS_KEY_ID"] = "AKIDENV";
  env.vars["AWS_SECRET_ACCESS_KEY"] = "secret-env";
  env.vars["AWS_SESSION_TOKEN"] = "token-env";
  env.home.write(".aws/credentials", "[ci]\naws_access_key_id = AKIDFILE\naws_secret_access_key = s\n");
  auto found = kiln::cloud::find_credentials(env.context());
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ(found->access_key_id, "AKIDENV");
  EXPECT_EQ(found->session_token, "token-env");
  EXPECT_EQ(found->source, "the environment");
  auto profiled = kiln::cloud::find_credentials(env.context("ci"));
  ASSERT_TRUE(profiled) << profiled.error().message;
  EXPECT_EQ(profiled->access_key_id, "AKIDFILE");
}

TEST(credentials, profiles_from_the_credentials_then_the_config_file)
{
  Env env;
  env.home.write(".aws/credentials", "# keys\n[default]\naws_access_key_id=AKIDDEF\n"
                                     "aws_secret_access_key = sdef\n\n[other]\nregion = x\n");
  env.home.write(".aws/config", "[default]\nregion = eu-west-1\n[profile other]\n"
                                "s3 =\n  addressing_style = path\n"
                                "aws_access_key_id = AKIDCONF\naws_secret_access_key = sconf\n"
                                "region = eu-central-1\n");
  auto def = kiln::cloud::find_credentials(env.context());
  ASSERT_TRUE(def) << def.error().message;
  EXPECT_EQ(def->access_key_id, "AKIDDEF");
  EXPECT_EQ(kiln::cloud::find_region(env.context()), "eu-west-1");
  env.vars["AWS_PROFILE"] = "other";
  auto other = kiln::cloud::find_credentials(env.context());
  ASSERT_TRUE(other) << other.error().message;
  EXPECT_EQ(other->access_key_id, "AKIDCONF");
  EXPECT_EQ(other->secret_access_key, "sconf");
  EXPECT_EQ(kiln::cloud::find_region(env.context()), "eu-central-1");
  auto profile = kiln::cloud::read_aws_profile((env.home.path() / ".aws/config").string(),
                                               "other", true);
  ASSERT_TRUE(profile);
  EXPECT_EQ(profile->at("s3.addressing_style"), "path");
  env.vars["AWS_REGION"] = "ap-south-1";
  EXPECT_EQ(kiln::cloud::find_region(env.context()), "ap-south-1");
}

TEST(credentials, credential_process_runs_without_a_shell_and_its_json_is_read)
{
  Env env;
  auto script = env.home.write("bin/my creds.sh",
                               "#!/bin/sh\necho \"$1\" >&2\nprintf '{\"Version\": 1, "
                               "\"AccessKeyId\": \"AKIDPROC\", \"SecretAccessKey\": \"sp\", "
                               "\"SessionToken\": \"tp\", \"Expiration\": "
                               "\"2030-01-01T00:00:00Z\"}'\n");
  ::chmod(script.c_str(), 0755);
  env.home.write(".aws/config",
                 "[default]\ncredential_process = \"" + script.string() + "\" --arg 'a b'\n");
  auto found = kiln::cloud::find_credentials(env.context());
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ(found->access_key_id, "AKIDPROC");
  EXPECT_EQ(found->session_token, "tp");
  EXPECT_EQ(found->expiration, 1893456000);
  env.home.write(".aws/config", "[default]\ncredential_process = /bin/echo not-json\n");
  auto bad = kiln::cloud::find_credentials(env.context());
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("did not print the JSON"), std::string::npos);
}

TEST(credentials, a_profile_that_assumes_a_role_is_refused_by_name)
{
  Env env;
  env.home.write(".aws/config", "[profile deploy]\nrole_arn = arn:aws:iam::1:role/x\n");
  auto found = kiln::cloud::find_credentials(env.context("deploy"));
  ASSERT_FALSE(found);
  EXPECT_EQ(found.error().message, "profile deploy uses role_arn, which kiln cannot use yet");
}

TEST(credentials, the_instance_role_through_imdsv2)
{
  CannedServer imds({reply(200, "", "token-123"), reply(200, "", "agent-role\n"),
                     reply(200, "",
                           R"({"Code": "Success", "AccessKeyId": "ASIAROLE", "SecretAccessKey":
                               "srole", "Token": "trole", "Expiration": "2030-01-01T00:00:00Z"})")});
  Env env;
  env.vars.erase("AWS_EC2_METADATA_DISABLED");
  env.vars["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = imds.url("/");
  auto found = kiln::cloud::find_credentials(env.context());
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ(found->access_key_id, "ASIAROLE");
  EXPECT_EQ(found->session_token, "trole");
  EXPECT_EQ(found->source, "the instance role agent-role");
  ASSERT_EQ(imds.requests().size(), 3u);
  EXPECT_EQ(imds.requests()[0].rfind("PUT /latest/api/token ", 0), 0u);
  EXPECT_NE(imds.requests()[0].find("X-aws-ec2-metadata-token-ttl-seconds: 21600"),
            std::string::npos);
  EXPECT_NE(imds.requests()[2].find("GET /latest/meta-data/iam/security-credentials/agent-role"),
            std::string::npos);
  EXPECT_NE(imds.requests()[2].find("X-aws-ec2-metadata-token: token-123"), std::string::npos);
}

TEST(credentials, none_found_names_every_source_tried)
{
  CannedServer imds({reply(403, "", "")});
  Env env;
  env.vars.erase("AWS_EC2_METADATA_DISABLED");
  env.vars["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = imds.url("");
  auto found = kiln::cloud::find_credentials(env.context());
  ASSERT_FALSE(found);
  const std::string& message = found.error().message;
  EXPECT_NE(message.find("the environment (AWS_ACCESS_KEY_ID is not set)"), std::string::npos);
  EXPECT_NE(message.find("profile default in " + (env.home.path() / ".aws/credentials").string() +
                         " (no such file or profile)"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("its token request answered HTTP 403"), std::string::npos) << message;
}

} // namespace
