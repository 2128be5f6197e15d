// kiln pipeline init's files: every template value filled, the inputs that could change a
// file's meaning refused, the approvals named per channel.
#include "ci/pipelines.hpp"

#include <gtest/gtest.h>

using namespace kiln;

namespace {

ci::PipelineInputs inputs()
{
  return {"1.2.3", "kiln", {"agent", "builder"}, {"dev", "staging", "prod"}};
}

TEST(ci_pipelines, every_value_is_filled_in)
{
  for (auto platform : {ci::Platform::azure, ci::Platform::github}) {
    auto files = ci::pipeline_files(platform, inputs());
    ASSERT_TRUE(files) << files.error().message;
    ASSERT_EQ(files->size(), 2u);
    for (const auto& file : *files) {
      EXPECT_EQ(file.text.find("@KILN_VERSION@"), std::string::npos) << file.path;
      EXPECT_EQ(file.text.find("@DEFAULT_"), std::string::npos) << file.path;
      EXPECT_NE(file.text.find("'1.2.3'"), std::string::npos) << file.path;
    }
    const std::string& deploy = (*files)[1].text;
    EXPECT_NE(deploy.find("[agent, builder]"), std::string::npos);
    EXPECT_NE(deploy.find("[dev, staging, prod]"), std::string::npos);
    EXPECT_NE(deploy.find("kiln-staging and kiln-prod"), std::string::npos);
  }
  auto azure = ci::pipeline_files(ci::Platform::azure, inputs());
  EXPECT_EQ((*azure)[0].path, "azure-pipelines/build-images.yml");
  EXPECT_NE((*azure)[1].text.find("default: prod"), std::string::npos);
}

TEST(ci_pipelines, refuses_values_that_are_not_plain_words)
{
  for (const char* bad : {"", "a b", "x'y", "-rf", "a:b", "${{ secrets.X }}", "a\nb"}) {
    auto with_agents = inputs();
    with_agents.agents = bad;
    auto files = ci::pipeline_files(ci::Platform::azure, with_agents);
    ASSERT_FALSE(files) << "agents '" << bad << "' was accepted";
    EXPECT_EQ(files.error().code, ExitCode::usage);
    auto with_image = inputs();
    with_image.images.push_back(bad);
    EXPECT_FALSE(ci::pipeline_files(ci::Platform::github, with_image)) << bad;
  }
}

TEST(ci_pipelines, needs_an_image_and_a_channel)
{
  auto no_images = inputs();
  no_images.images.clear();
  EXPECT_FALSE(ci::pipeline_files(ci::Platform::azure, no_images));
  auto one_channel = inputs();
  one_channel.channels = {"prod"};
  auto files = ci::pipeline_files(ci::Platform::github, one_channel);
  ASSERT_TRUE(files);
  EXPECT_NE((*files)[1].text.find("Give kiln-prod required reviewers"), std::string::npos);
}

} // namespace
