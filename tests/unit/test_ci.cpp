// kiln ci: the branch policy, the versions it gives, the ref a checkout is built as, and the
// commits counted since a definition's version changed (in a real git repository).
#include "ci/checkout.hpp"
#include "ci/versioning.hpp"
#include "config/policy.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace kiln;

namespace {

Expected<config::Policy> policy_of(const std::string& text)
{
  return config::parse_policy(YAML::Load(text)["ci"], "kiln.yaml");
}

TEST(ci_policy, default_publishes_main_release_and_tags)
{
  auto policy = config::default_policy();
  auto* main = config::match_rule(policy, config::RefRule::Kind::branch, "main");
  ASSERT_TRUE(main);
  EXPECT_EQ(main->publish, config::Publish::dev);
  EXPECT_EQ(main->channel, "dev");
  auto* release = config::match_rule(policy, config::RefRule::Kind::branch, "release/1.2");
  ASSERT_TRUE(release);
  EXPECT_EQ(release->publish, config::Publish::rc);
  EXPECT_EQ(release->channel, "staging");
  EXPECT_FALSE(config::match_rule(policy, config::RefRule::Kind::branch, "feature/x"));
  auto* tag = config::match_rule(policy, config::RefRule::Kind::tag, "agent/v1.2.0");
  ASSERT_TRUE(tag);
  EXPECT_EQ(tag->publish, config::Publish::release);
}

TEST(ci_policy, bad_patterns_and_keys_are_reported_at_their_place)
{
  auto policy = policy_of("ci:\n  refs:\n    - branch: 'refs/heads/main'\n      publish: dev\n"
                          "    - branch: 'a b'\n    - tag: v*\n      publish: dev\n"
                          "    - branch: x\n      colour: red\n");
  ASSERT_FALSE(policy);
  std::string all = policy.error().message + "\n" + policy.error().detail;
  EXPECT_NE(all.find("kiln.yaml:3:15: invalid ref pattern 'refs/heads/main'"), std::string::npos)
      << all;
  EXPECT_NE(all.find("kiln.yaml:5:15: invalid ref pattern 'a b'"), std::string::npos) << all;
  EXPECT_NE(all.find("publish must be release or none"), std::string::npos) << all;
  EXPECT_NE(all.find("unknown key 'colour'"), std::string::npos) << all;
}

TEST(ci_policy, an_unknown_channel_is_named_with_its_place)
{
  auto policy = policy_of("ci:\n  refs:\n    - {branch: main, publish: dev, channel: qa}\n");
  ASSERT_TRUE(policy) << policy.error().message;
  auto problems = config::unknown_channels(*policy, {"dev", "staging", "prod"});
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("kiln.yaml:3:45: unknown channel 'qa'"), std::string::npos)
      << problems[0];
}

TEST(ci_versions, dev_rc_branch_and_release)
{
  EXPECT_EQ(*ci::ci_version(config::Publish::dev, "1.2.0", 3, "abc123"), "1.2.0-dev.3+gabc123");
  EXPECT_EQ(*ci::ci_version(config::Publish::rc, "1.2.0", 0, "abc123"), "1.2.0-rc.0+gabc123");
  EXPECT_EQ(*ci::ci_version(config::Publish::branch, "1.2.0", 2, "abc", "feature/Foo_bar"),
            "1.2.0-feature-Foo-bar.2+gabc");
  EXPECT_EQ(*ci::ci_version(config::Publish::release, "1.2.0", 9, "abc"), "1.2.0");
  EXPECT_FALSE(ci::ci_version(config::Publish::dev, "1.2.0-beta.1", 1, "abc"));
  EXPECT_FALSE(ci::ci_version(config::Publish::branch, "1.2.0", 1, "abc", "___"));
}

TEST(ci_versions, branch_names_become_prerelease_identifiers)
{
  EXPECT_EQ(ci::prerelease_identifier("feature/x_y"), "feature-x-y");
  EXPECT_EQ(ci::prerelease_identifier("--a//b--"), "a-b");
  EXPECT_EQ(ci::prerelease_identifier("007"), "b007");
  EXPECT_EQ(ci::prerelease_identifier("ü"), "");
}

TEST(ci_versions, release_tags)
{
  auto plain = ci::parse_release_tag("v1.2.3");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->image, "");
  EXPECT_EQ(plain->version, "1.2.3");
  auto named = ci::parse_release_tag("agent/v2.0.0");
  ASSERT_TRUE(named);
  EXPECT_EQ(named->image, "agent");
  EXPECT_FALSE(ci::parse_release_tag("v1.2"));
  EXPECT_FALSE(ci::parse_release_tag("v1.2.3-rc.1"));
  EXPECT_FALSE(ci::parse_release_tag("release-1.2.3"));
}

TEST(ci_versions, bump_from_packages)
{
  std::map<std::string, std::string> before = {{"curl", "7.88"}, {"git", "2.39"}};
  EXPECT_EQ(ci::suggest_bump("1.2.3", before, {{"curl", "7.88"}}).kind, "major");
  EXPECT_EQ(ci::suggest_bump("1.2.3", before, {{"curl", "7.88"}}).next, "2.0.0");
  auto added = ci::suggest_bump("1.2.3", before, {{"curl", "7.88"}, {"git", "2.39"}, {"jq", "1"}});
  EXPECT_EQ(added.kind, "minor");
  EXPECT_EQ(added.next, "1.3.0");
  auto updated = ci::suggest_bump("1.2.3", before, {{"curl", "7.89"}, {"git", "2.39"}});
  EXPECT_EQ(updated.kind, "patch");
  EXPECT_EQ(updated.next, "1.2.4");
}

TEST(ci_ref, from_the_ci_variables_when_detached)
{
  ci::Checkout detached;
  detached.commit = std::string(40, 'a');
  auto azure = ci::ref_of(detached, {{"BUILD_SOURCEBRANCH", "refs/heads/release/1.2"}});
  ASSERT_TRUE(azure);
  EXPECT_EQ(azure->kind, ci::Ref::Kind::branch);
  EXPECT_EQ(azure->name, "release/1.2");
  auto pr = ci::ref_of(detached, {{"SYSTEM_PULLREQUEST_PULLREQUESTID", "7"},
                                  {"SYSTEM_PULLREQUEST_SOURCEBRANCH", "refs/heads/feature/x"},
                                  {"BUILD_SOURCEBRANCH", "refs/pull/7/merge"}});
  ASSERT_TRUE(pr);
  EXPECT_EQ(pr->kind, ci::Ref::Kind::pull_request);
  EXPECT_EQ(pr->name, "feature/x");
  auto github = ci::ref_of(detached, {{"GITHUB_REF", "refs/tags/v1.0.0"}});
  ASSERT_TRUE(github);
  EXPECT_EQ(github->kind, ci::Ref::Kind::tag);
  auto gh_pr = ci::ref_of(detached, {{"GITHUB_EVENT_NAME", "pull_request"},
                                     {"GITHUB_HEAD_REF", "fix"},
                                     {"GITHUB_REF", "refs/pull/3/merge"}});
  ASSERT_TRUE(gh_pr);
  EXPECT_EQ(gh_pr->kind, ci::Ref::Kind::pull_request);
  EXPECT_EQ(gh_pr->name, "fix");
  auto none = ci::ref_of(detached, {});
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("HEAD is detached"), std::string::npos);
  EXPECT_FALSE(ci::ref_of(detached, {}, "main")); // --ref must be a full ref name
}

class CiRepository : public ::testing::Test {
protected:
  fs::path dir;
  void SetUp() override
  {
    if (std::system("git --version >/dev/null 2>&1") != 0)
      GTEST_SKIP() << "git is not installed";
    dir = fs::temp_directory_path() / ("kiln-ci-test-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir / "agent");
    git("init -q -b main");
  }
  void TearDown() override { fs::remove_all(dir); }
  void git(const std::string& args)
  {
    std::string command = "git -C " + dir.string() +
                          " -c user.email=t@example.com -c user.name=t " + args + " >/dev/null";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }
  void commit_version(const std::string& version, const std::string& message)
  {
    std::ofstream(dir / "agent/image.yaml")
        << "name: agent\nversion: " << version << "\n# " << message << "\n";
    git("add -A");
    git("commit -q -m " + message);
  }
};

TEST_F(CiRepository, counts_commits_since_the_version_changed)
{
  commit_version("1.0.0", "one");
  commit_version("1.0.0", "two");
  commit_version("1.1.0", "three");
  auto checkout = ci::read_checkout(dir);
  ASSERT_TRUE(checkout) << checkout.error().message;
  EXPECT_EQ(checkout->branch.value_or(""), "main");
  EXPECT_TRUE(checkout->dirty.empty());
  EXPECT_EQ(*ci::commits_since_version(*checkout, "agent/image.yaml", "1.1.0"), 0);
  git("commit -q --allow-empty -m four");
  git("commit -q --allow-empty -m five");
  checkout = ci::read_checkout(dir);
  EXPECT_EQ(*ci::commits_since_version(*checkout, "agent/image.yaml", "1.1.0"), 2);
  std::ofstream(dir / "stray.txt") << "x";
  checkout = ci::read_checkout(dir);
  ASSERT_EQ(checkout->dirty.size(), 1u);
  EXPECT_EQ(checkout->dirty[0], "stray.txt");
}

TEST_F(CiRepository, a_shallow_clone_says_how_to_fetch_the_history)
{
  commit_version("1.0.0", "one");
  commit_version("1.0.0", "two");
  commit_version("1.0.0", "three");
  fs::path clone = dir.string() + "-clone";
  fs::remove_all(clone);
  std::string command = "git clone -q --depth 1 file://" + dir.string() + " " + clone.string();
  ASSERT_EQ(std::system(command.c_str()), 0);
  auto checkout = ci::read_checkout(clone);
  ASSERT_TRUE(checkout) << checkout.error().message;
  EXPECT_TRUE(checkout->shallow);
  auto counted = ci::commits_since_version(*checkout, "agent/image.yaml", "1.0.0");
  fs::remove_all(clone);
  ASSERT_FALSE(counted);
  EXPECT_NE(counted.error().message.find("shallow"), std::string::npos);
  EXPECT_NE(counted.error().hint.find("fetch-depth: 0"), std::string::npos);
}

} // namespace
