// Reports: package licenses from copyright files, the dpkg fields they use, purls, and the
// CycloneDX document's shape (its validation against the official schema is in
// tests/integration/bake_example.sh).
#include "check/tools.hpp"
#include "image/dpkg.hpp"
#include "image/licenses.hpp"
#include "report/diff.hpp"
#include "report/sbom.hpp"
#include "report/software.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

namespace {

const char* kDep5 = R"(Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: jq

Files: *
Copyright: 2012 Stephen Dolan
License: MIT and CC-BY-3.0

Files: debian/*
License: GPL-2+
)";

TEST(licenses, the_files_star_paragraph_names_the_license)
{
  auto license = kiln::image::license_from_copyright(kDep5);
  ASSERT_TRUE(license);
  EXPECT_EQ(license->debian, "MIT and CC-BY-3.0");
  EXPECT_EQ(license->spdx, ""); // CC-BY-3.0 has no entry in kiln's table: no partial expression
  std::string gpl = std::string(kDep5).replace(std::string(kDep5).find("MIT and CC-BY-3.0"), 17,
                                               "GPL-2+ or Artistic");
  EXPECT_EQ(kiln::image::license_from_copyright(gpl)->spdx,
            "GPL-2.0-or-later OR Artistic-1.0-Perl");
  EXPECT_FALSE(kiln::image::license_from_copyright("This is the Debian prepackaged version of"));
  EXPECT_EQ(kiln::image::spdx_expression("Expat"), "MIT");
  EXPECT_EQ(kiln::image::spdx_expression("LGPL-2.1+"), "LGPL-2.1-or-later");
}

TEST(licenses, a_doc_folder_that_links_elsewhere_is_followed_inside_the_tree)
{
  kiln::test::TempDir tree("licenses");
  tree.write("usr/share/doc/libfoo-common/copyright", kDep5);
  tree.symlink("usr/share/doc/libfoo1", "libfoo-common");
  tree.symlink("usr/share/doc/libfoo2", "/usr/share/doc/libfoo-common");
  EXPECT_EQ(kiln::image::package_license(tree.path(), "libfoo1")->debian, "MIT and CC-BY-3.0");
  EXPECT_EQ(kiln::image::package_license(tree.path(), "libfoo2")->debian, "MIT and CC-BY-3.0");
  EXPECT_FALSE(kiln::image::package_license(tree.path(), "nothing"));
}

TEST(dpkg, status_gives_source_section_and_summary)
{
  auto packages = kiln::image::parse_dpkg_status(
      "Package: libcurl4\nStatus: install ok installed\nSection: libs\nArchitecture: amd64\n"
      "Source: curl (7.88.1-10)\nVersion: 7.88.1-10+deb12u5\n"
      "Description: easy-to-use client-side URL transfer library\n more text\n\n");
  ASSERT_EQ(packages.size(), 1u);
  EXPECT_EQ(packages[0].source, "curl");
  EXPECT_EQ(packages[0].section, "libs");
  EXPECT_EQ(packages[0].summary, "easy-to-use client-side URL transfer library");
}

TEST(sbom, purls_encode_the_version)
{
  kiln::image::Package git{"git", "1:2.39.5-0+deb12u2", "amd64", "", "vcs", "", "", "", ""};
  EXPECT_EQ(kiln::report::deb_purl(git, {"debian", "12", "Debian GNU/Linux 12 (bookworm)"}),
            "pkg:deb/debian/git@1%3A2.39.5-0%2Bdeb12u2?arch=amd64&distro=debian-12");
}

TEST(sbom, cyclonedx_lists_the_image_packages_and_artifacts)
{
  kiln::image::Manifest m;
  m.name = "agent";
  m.version = "1.1.0";
  m.kiln_version = "0.1.0";
  m.source_date_epoch = 1700000000;
  m.os = {"debian", "12", "Debian GNU/Linux 12 (bookworm)"};
  m.outputs.push_back({"rootfs", "rootfs.tar.zst", std::string(64, 'a'), 10, "", 0});
  m.outputs.push_back({"qcow2", "disk.qcow2", std::string(64, 'd'), 7, "qcow2", 1 << 30});
  m.packages.push_back({"git", "1:2.39.5", "amd64", "", "vcs", "fast VCS", "GPL-2", "GPL-2.0-only",
                        std::string(64, 'c')});
  m.packages.push_back({"jq", "1.6", "amd64", "", "", "", "MIT and CC-BY-3.0", "", ""});
  m.packages.push_back({"bash", "5.2", "amd64", "", "", "", "GPL-3+ or X", "A OR B", ""});
  m.artifacts.push_back(
      {"agent-tools", "https://store.example/tools-1.2.tar.gz", std::string(64, 'b')});
  auto bom = kiln::report::cyclonedx(m);
  EXPECT_EQ(bom["bomFormat"], "CycloneDX");
  EXPECT_EQ(bom["specVersion"], "1.5");
  EXPECT_EQ(bom["serialNumber"], "urn:uuid:aaaaaaaa-aaaa-5aaa-aaaa-aaaaaaaaaaaa");
  EXPECT_EQ(bom["metadata"]["timestamp"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(bom["metadata"]["component"]["hashes"][0]["content"], std::string(64, 'a'));
  const auto& properties = bom["metadata"]["component"]["properties"];
  ASSERT_EQ(properties.size(), 4u); // the tar's digest; the disk's digest, format and size
  EXPECT_EQ(properties[2]["name"], "kiln:output:disk.qcow2:format");
  EXPECT_EQ(properties[3]["value"], "1073741824");
  const auto& components = bom["components"];
  ASSERT_EQ(components.size(), 5u); // the distribution, 3 packages, 1 artifact
  EXPECT_EQ(components[0]["type"], "operating-system");
  EXPECT_EQ(components[1]["licenses"][0]["license"]["id"], "GPL-2.0-only");
  EXPECT_EQ(components[1]["hashes"][0]["content"], std::string(64, 'c')); // of the .deb
  EXPECT_FALSE(components[2].contains("hashes"));
  EXPECT_EQ(components[2]["licenses"][0]["license"]["name"], "MIT and CC-BY-3.0");
  EXPECT_EQ(components[3]["licenses"][0]["expression"], "A OR B");
  EXPECT_EQ(components[4]["type"], "file");
  EXPECT_EQ(components[4]["name"], "tools-1.2.tar.gz");
  EXPECT_EQ(components[4]["hashes"][0]["content"], std::string(64, 'b'));
  EXPECT_EQ(bom["dependencies"][0]["dependsOn"].size(), 5u);
}

} // namespace

namespace {

kiln::report::ImageFacts facts(const std::string& version, nlohmann::json packages,
                               nlohmann::json files, nlohmann::json tests)
{
  nlohmann::json manifest = {{"name", "agent"},
                             {"version", version},
                             {"packages", packages},
                             {"tools", {{{"name", "Git"}, {"version", "2.39." + version}}}},
                             {"users", {{{"name", "azdo"}, {"uid", 1001}, {"shell", "/bin/bash"}}}},
                             {"os", {{"pretty_name", "Debian GNU/Linux 12 (bookworm)"}}}};
  return {manifest, files, {{"tests", tests}}};
}

TEST(diff, lists_added_removed_and_changed_in_every_section)
{
  auto a = facts("1",
                 {{{"name", "git"}, {"version", "1:2.39.2"}, {"architecture", "amd64"}},
                  {{"name", "tree"}, {"version", "2.1.0"}, {"architecture", "amd64"}}},
                 {{"etc/motd", "sha256:aa"}, {"etc/old", "sha256:bb"}},
                 {{{"name", "git works"}, {"passed", true}}});
  auto b = facts("5",
                 {{{"name", "git"}, {"version", "1:2.39.5"}, {"architecture", "amd64"}},
                  {{"name", "jq"}, {"version", "1.6"}, {"architecture", "amd64"}}},
                 {{"etc/motd", "sha256:cc"}, {"opt/new", "link:/x"}},
                 {{{"name", "git works"}, {"passed", false}}});
  auto d = kiln::report::diff_images(a, b);
  EXPECT_EQ(d["from"], "agent 1");
  EXPECT_EQ(d["to"], "agent 5");
  EXPECT_EQ(d["packages"]["added"][0]["name"], "jq");
  EXPECT_EQ(d["packages"]["removed"][0]["name"], "tree");
  EXPECT_EQ(d["packages"]["changed"][0],
            nlohmann::json({{"name", "git"}, {"from", "1:2.39.2"}, {"to", "1:2.39.5"}}));
  EXPECT_EQ(d["tools"]["changed"][0]["to"], "2.39.5");
  EXPECT_TRUE(d["users"]["changed"].empty());
  EXPECT_EQ(d["files"]["changed"][0]["name"], "/etc/motd");
  EXPECT_EQ(d["files"]["added"][0]["name"], "/opt/new");
  EXPECT_EQ(d["files"]["removed"][0]["name"], "/etc/old");
  EXPECT_EQ(d["tests"]["changed"][0]["to"], "failed");
  EXPECT_FALSE(d.contains("os"));

  std::string text = kiln::report::diff_text(d);
  EXPECT_NE(text.find("Packages: 1 added, 1 removed, 1 changed\n  + jq 1.6\n  - tree 2.1.0\n"
                      "  ~ git 1:2.39.2 -> 1:2.39.5\n"),
            std::string::npos)
      << text;
  std::string markdown = kiln::report::diff_markdown(d);
  EXPECT_NE(markdown.find("## Changes in agent 5 since agent 1"), std::string::npos);
  EXPECT_NE(markdown.find("| changed | git | 1:2.39.2 | 1:2.39.5 |"), std::string::npos)
      << markdown;
  EXPECT_EQ(markdown.find("### Users"), std::string::npos); // sections without changes are left out
}

TEST(software_report, groups_tools_and_requested_packages)
{
  kiln::image::Manifest m;
  m.name = "agent";
  m.version = "1.1.0";
  m.os = {"debian", "12", "Debian GNU/Linux 12 (bookworm)"};
  m.packages.push_back({"git", "1:2.39.5", "amd64", "", "vcs", "", "", "", ""});
  m.packages.push_back({"libc6", "2.36", "amd64", "glibc", "libs", "", "", "", ""});
  m.requested = {"git"};
  m.tools.push_back({"Git", "Version control", "2.39.5", "git version 2.39.5"});
  m.tools.push_back({"Node", "Languages", "", "exit code 127: sh: node: not found"});
  auto report = kiln::report::software_report(m);
  EXPECT_EQ(report["os"], "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(report["packages_installed"], 2);
  EXPECT_EQ(report["tools"][0]["category"], "Languages");
  EXPECT_EQ(report["tools"][0]["items"][0]["version"], "not found");
  EXPECT_EQ(report["packages"].size(), 1u); // only what the definition asked for
  EXPECT_EQ(report["packages"][0]["category"], "Version control");
  std::string markdown = kiln::report::software_report_markdown(m);
  EXPECT_NE(markdown.find("| Git | 2.39.5 |"), std::string::npos) << markdown;
  EXPECT_EQ(kiln::check::version_in("OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.15"), "9.2");
  EXPECT_EQ(kiln::check::version_in("jq-1.6"), "1.6");
  EXPECT_EQ(kiln::check::version_in("no digits"), "");
}

} // namespace
