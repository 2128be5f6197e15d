// Image tests: each check kind passing and failing on a small tree, the command verdicts, Debian
// version constraints, and the JUnit file.
#include "check/checks.hpp"
#include "check/record.hpp"
#include "image/debversion.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

using kiln::check::check_in_tree;
using kiln::check::CommandRun;
using kiln::check::judge_command;
using kiln::spec::ImageTest;

namespace {

class Checks : public ::testing::Test {
protected:
  void SetUp() override
  {
    root_ = kiln::test::TempDir("verify");
    root_.write("etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"
                              "azdo:x:1001:1001::/home/azdo:/bin/bash\n");
    root_.write("etc/group", "root:x:0:\nsudo:x:27:azdo\nazdo:x:1001:\ndocker:x:999:\n");
    root_.write("etc/agent.conf", "# agent\nAGENT_POOL=linux\n");
    ::chmod((root_.path() / "etc/agent.conf").c_str(), 0640);
    root_.write("var/lib/dpkg/status", "Package: git\nStatus: install ok installed\n"
                                       "Architecture: amd64\nVersion: 1:2.39.5-0+deb12u2\n\n"
                                       "Package: curl\nStatus: deinstall ok config-files\n"
                                       "Architecture: amd64\nVersion: 7.88.1-10\n\n");
    root_.symlink("etc/systemd/system/multi-user.target.wants/ssh.service",
                  "/lib/systemd/system/ssh.service");
  }

  ImageTest test(const std::string& kind, const std::string& subject)
  {
    ImageTest t;
    t.kind = kind;
    t.subject = subject;
    t.name = kind + " " + subject;
    return t;
  }

  kiln::test::TempDir root_;
};

TEST_F(Checks, file_passes_and_fails_on_each_property)
{
  auto t = test("file", "/etc/agent.conf");
  t.type = "file";
  t.mode = 0640;
  t.owner = "root";
  t.content_regex = "^AGENT_POOL=linux$";
  EXPECT_TRUE(check_in_tree(t, root_.path()).passed) << check_in_tree(t, root_.path()).actual;

  auto wrong_mode = t;
  wrong_mode.mode = 0644;
  auto outcome = check_in_tree(wrong_mode, root_.path());
  EXPECT_FALSE(outcome.passed);
  EXPECT_EQ(outcome.expected, "mode 0644");
  EXPECT_EQ(outcome.actual, "mode 0640");

  auto wrong_type = t;
  wrong_type.type = "directory";
  EXPECT_EQ(check_in_tree(wrong_type, root_.path()).actual, "a file");

  auto wrong_content = t;
  wrong_content.content_regex = "^AGENT_POOL=windows$";
  EXPECT_FALSE(check_in_tree(wrong_content, root_.path()).passed);

  auto missing = test("file", "/etc/nope");
  EXPECT_EQ(check_in_tree(missing, root_.path()).actual, "it does not exist");
  missing.exists = false;
  EXPECT_TRUE(check_in_tree(missing, root_.path()).passed);
  auto present = test("file", "/etc/agent.conf");
  present.exists = false;
  EXPECT_FALSE(check_in_tree(present, root_.path()).passed);
}

TEST_F(Checks, package_checks_installed_state_and_version)
{
  auto git = test("package", "git");
  EXPECT_TRUE(check_in_tree(git, root_.path()).passed);
  git.version = ">= 1:2.39";
  EXPECT_TRUE(check_in_tree(git, root_.path()).passed);
  git.version = ">> 1:2.40";
  auto outcome = check_in_tree(git, root_.path());
  EXPECT_FALSE(outcome.passed);
  EXPECT_EQ(outcome.actual, "version 1:2.39.5-0+deb12u2");
  // Removed with its configuration left is not installed.
  EXPECT_EQ(check_in_tree(test("package", "curl"), root_.path()).actual, "not installed");
}

TEST_F(Checks, user_group_and_service)
{
  auto azdo = test("user", "azdo");
  azdo.shell = "/bin/bash";
  azdo.groups = {"sudo", "azdo"}; // azdo is its primary group
  EXPECT_TRUE(check_in_tree(azdo, root_.path()).passed);
  azdo.groups = {"sudo", "docker"};
  auto outcome = check_in_tree(azdo, root_.path());
  EXPECT_FALSE(outcome.passed);
  EXPECT_EQ(outcome.actual, "not in docker");
  azdo.groups = {};
  azdo.shell = "/bin/sh";
  EXPECT_EQ(check_in_tree(azdo, root_.path()).actual, "shell /bin/bash");
  EXPECT_FALSE(check_in_tree(test("user", "nobody"), root_.path()).passed);

  EXPECT_TRUE(check_in_tree(test("group", "docker"), root_.path()).passed);
  EXPECT_FALSE(check_in_tree(test("group", "wheel"), root_.path()).passed);

  EXPECT_TRUE(check_in_tree(test("service", "ssh"), root_.path()).passed);
  EXPECT_TRUE(check_in_tree(test("service", "ssh.service"), root_.path()).passed);
  EXPECT_FALSE(check_in_tree(test("service", "cron"), root_.path()).passed);
}

TEST(CommandVerdict, exit_code_output_and_timeout)
{
  ImageTest t;
  t.kind = "command";
  t.subject = "git --version";
  t.stdout_regex = "^git version 2\\.";
  t.timeout = 5;
  EXPECT_TRUE(judge_command(t, {0, false, "git version 2.39.5\n", ""}).passed);

  auto wrong_exit = judge_command(t, {127, false, "", "sh: 1: git: not found\n"});
  EXPECT_FALSE(wrong_exit.passed);
  EXPECT_EQ(wrong_exit.expected, "exit code 0");
  EXPECT_EQ(wrong_exit.actual, "exit code 127, output 'sh: 1: git: not found'");

  auto wrong_output = judge_command(t, {0, false, "hub version 1\n", ""});
  EXPECT_EQ(wrong_output.expected, "stdout matching /^git version 2\\./");
  EXPECT_EQ(wrong_output.actual, "'hub version 1'");

  t.stdout_regex.clear();
  t.stderr_regex = "warning";
  EXPECT_FALSE(judge_command(t, {0, false, "", "all fine"}).passed);
  EXPECT_EQ(judge_command(t, {0, true, "", ""}).actual, "still running after 5s, stopped");
}

TEST(DebianVersions, compare_as_dpkg_does)
{
  using kiln::image::compare_debian_versions;
  EXPECT_LT(compare_debian_versions("1.0~rc1", "1.0"), 0);
  EXPECT_LT(compare_debian_versions("1.0", "1.0-1"), 0);
  EXPECT_LT(compare_debian_versions("2.39", "1:1.0"), 0);
  EXPECT_LT(compare_debian_versions("1.2.9", "1.2.10"), 0);
  EXPECT_LT(compare_debian_versions("1.0a", "1.0+"), 0);
  EXPECT_EQ(compare_debian_versions("1.001", "1.1"), 0);
  EXPECT_GT(compare_debian_versions("7.88.1-10+deb12u5", "7.88.1-10"), 0);
  EXPECT_EQ(kiln::image::satisfies("1:2.39.5-0+deb12u2", ">= 1:2.39"), true);
  EXPECT_EQ(kiln::image::satisfies("2.39", "<< 2.39"), false);
  EXPECT_EQ(kiln::image::satisfies("2.39", "= 2.39"), true);
  EXPECT_EQ(kiln::image::satisfies("2.39", "~ 2.39"), std::nullopt);
}

TEST(JUnit, counts_failures_and_escapes_text)
{
  std::vector<kiln::check::TestResult> results = {
      {"git works", "command", "tools", true, "exit code 0", "", 0.25},
      {"motd <says> \"hi\" & more", "file", "", false, "content matching /a&b/", "'<none>'", 0.0},
  };
  std::string xml = kiln::check::junit_xml("linux-agent 1.1.0", results);
  EXPECT_NE(xml.find("<testsuites name=\"kiln\" tests=\"2\" failures=\"1\" errors=\"0\" "
                     "time=\"0.250\">"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<testcase name=\"git works\" classname=\"linux-agent.tools\" "
                     "time=\"0.250\"/>"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("name=\"motd &lt;says&gt; &quot;hi&quot; &amp; more\" "
                     "classname=\"linux-agent.image\""),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<failure type=\"file\" message=\"expected content matching /a&amp;b/, got "
                     "'&lt;none&gt;'\">"),
            std::string::npos)
      << xml;
}

TEST(TestPlan, survives_a_round_trip_through_json)
{
  ImageTest t;
  t.name = "agent.conf";
  t.kind = "file";
  t.subject = "/etc/agent.conf";
  t.mode = 0640;
  t.content_regex = "x";
  kiln::check::TestPlan plan = {{"tools", t}, {"", t}};
  auto back = kiln::check::plan_from_json(kiln::check::plan_to_json(plan));
  ASSERT_TRUE(back);
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[0].step, "tools");
  EXPECT_EQ((*back)[1].step, "");
  EXPECT_EQ((*back)[0].test.mode, std::optional<mode_t>(0640));
  EXPECT_EQ((*back)[0].test.content_regex, "x");
  EXPECT_FALSE(kiln::check::plan_from_json(nlohmann::json{{"tests", {{{"kind", 1}}}}}));
}

} // namespace
