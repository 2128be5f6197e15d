// security/baseline: applying the changes to a tree makes every rule pass; undoing one fails it.
#include "security/baseline.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace kiln::security;

namespace {

// Does by hand what bake/requirements does in the image.
void apply(const kiln::test::TempDir& tree, const Changes& changes)
{
  std::string login_defs;
  for (const auto& [key, value] : changes.login_defs)
    login_defs += key + " " + value + "\n";
  const_cast<kiln::test::TempDir&>(tree).write("etc/login.defs", login_defs);
  for (const auto& [path, content] : changes.files)
    const_cast<kiln::test::TempDir&>(tree).write(path.substr(1), content);
  const_cast<kiln::test::TempDir&>(tree).write("etc/group", "root:x:0:\nshadow:x:42:\n");
  for (const auto& change : changes.modes) {
    fs::path file = tree.path() / change.path.substr(1);
    if (!fs::exists(file))
      const_cast<kiln::test::TempDir&>(tree).write(change.path.substr(1), "x\n");
    ::chmod(file.c_str(), static_cast<mode_t>(std::stoul(change.mode, nullptr, 8)));
    ::chown(file.c_str(), 0, change.owner == "root:shadow" ? 42 : 0);
  }
}

TEST(security, rule_ids_are_unique)
{
  std::set<std::string_view> seen;
  for (auto id : rule_ids())
    EXPECT_TRUE(seen.insert(id).second) << id;
  EXPECT_GE(seen.size(), 30u);
}

TEST(security, an_applied_baseline_passes_and_an_undone_rule_fails)
{
  if (::geteuid() != 0)
    GTEST_SKIP() << "needs root to give files to root:shadow";
  kiln::test::TempDir tree("baseline");
  std::map<std::string, std::string> waived = {{"usb-storage", "fixtures on USB"}};
  apply(tree, changes(waived));
  tree.write("lib/systemd/system/cups.service", "[Unit]\n");
  fs::create_directories(tree.path() / "etc/systemd/system");
  fs::create_symlink("/dev/null", tree.path() / "etc/systemd/system/cups.service");
  auto findings = audit(tree.path(), waived);
  ASSERT_TRUE(findings);
  for (const auto& f : *findings) {
    if (f.rule == "usb-storage")
      EXPECT_EQ(f.status, "waived");
    else
      EXPECT_EQ(f.status, "pass") << f.rule << ": " << f.detail;
  }
  fs::remove(tree.path() / "etc/systemd/system/cups.service");
  tree.write("etc/ssh/sshd_config.d/10-kiln-cis-x11.conf", "X11Forwarding yes\n");
  auto after = audit(tree.path(), waived);
  std::map<std::string, std::string> status;
  for (const auto& f : *after)
    status[f.rule] = f.status + ": " + f.detail;
  EXPECT_EQ(status["unneeded-services"], "fail: cups.service is installed and not masked");
  EXPECT_EQ(status["sshd-x11-forwarding"],
            "fail: /etc/ssh/sshd_config.d/10-kiln-cis-x11.conf does not set 'X11Forwarding no'");
}

TEST(security, waived_rules_change_nothing)
{
  auto all = changes({});
  auto fewer = changes({{"sshd-x11-forwarding", "x"}, {"password-max-days", "y"}});
  EXPECT_EQ(all.files.size(), fewer.files.size() + 1);
  EXPECT_EQ(all.login_defs.size(), fewer.login_defs.size() + 1);
  EXPECT_FALSE(fewer.files.count("/etc/ssh/sshd_config.d/10-kiln-cis-x11.conf"));
}

} // namespace
