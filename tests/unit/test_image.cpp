// image/: generalize, the dpkg database, the deterministic tar export and the manifest.
#include "image/dpkg.hpp"
#include "image/generalize.hpp"
#include "image/manifest.hpp"
#include "image/out_dir.hpp"
#include "image/tar_export.hpp"
#include "test_support.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"

#include <algorithm>
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <map>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

namespace fs = std::filesystem;
using namespace kiln::image;

namespace {

TEST(generalize, removes_machine_identity_caches_and_histories)
{
  kiln::test::TempDir tree("gen");
  tree.write("etc/machine-id", "0123456789abcdef\n");
  tree.write("var/lib/dbus/machine-id", "0123456789abcdef\n");
  tree.write("etc/ssh/ssh_host_ed25519_key", "secret");
  tree.write("etc/ssh/sshd_config", "keep");
  tree.write("var/log/apt/history.log", "lots");
  tree.write("var/log/dpkg.log.1", "old");
  tree.write("var/lib/apt/lists/mirror_dists_bookworm_InRelease", "x");
  tree.write("var/cache/apt/archives/git_1_amd64.deb", "x");
  tree.write("var/cache/apt/pkgcache.bin", "x");
  tree.write("root/.bash_history", "ls");
  tree.write("home/azdo/.bash_history", "ls");
  tree.write("home/azdo/.profile", "keep");
  tree.write("tmp/scratch/file", "x");
  tree.write("etc/passwd-", "backup");
  tree.write("etc/passwd", "keep");
  tree.write("var/cache/ldconfig/aux-cache", "x");
  tree.write("etc/hostname", "build-host-17\n");
  auto report = generalize(tree.path());
  ASSERT_TRUE(report) << report.error().message;
  auto p = [&](const char* rel) { return tree.path() / rel; };
  EXPECT_EQ(fs::file_size(p("etc/machine-id")), 0u);
  for (const char* gone :
       {"var/lib/dbus/machine-id", "etc/ssh/ssh_host_ed25519_key", "var/log/dpkg.log.1",
        "var/lib/apt/lists/mirror_dists_bookworm_InRelease",
        "var/cache/apt/archives/git_1_amd64.deb", "var/cache/apt/pkgcache.bin",
        "root/.bash_history", "home/azdo/.bash_history", "tmp/scratch", "etc/passwd-",
        "var/cache/ldconfig/aux-cache"}) {
    EXPECT_FALSE(fs::exists(p(gone))) << gone;
  }
  for (const char* kept : {"etc/ssh/sshd_config", "home/azdo/.profile", "etc/passwd", "tmp"})
    EXPECT_TRUE(fs::exists(p(kept))) << kept;
  EXPECT_EQ(fs::file_size(p("var/log/apt/history.log")), 0u);
  EXPECT_EQ(*kiln::util::read_file(p("etc/hostname")), "localhost\n"); // not the build host's
  EXPECT_EQ(report->replaced, std::vector<std::string>{"etc/hostname"});
}

TEST(generalize, never_follows_links_out_of_the_tree)
{
  kiln::test::TempDir outside("outside");
  outside.write("log/important.log", "must survive");
  outside.write("tmp/precious", "must survive");
  kiln::test::TempDir tree("gen");
  fs::create_directories(tree.path() / "var");
  tree.symlink("var/log", (outside.path() / "log").string());
  tree.symlink("tmp", (outside.path() / "tmp").string());
  ASSERT_TRUE(generalize(tree.path()));
  EXPECT_EQ(*kiln::util::read_file(outside.path() / "log/important.log"), "must survive");
  EXPECT_TRUE(fs::exists(outside.path() / "tmp/precious"));
}

TEST(dpkg, lists_installed_packages_only_sorted)
{
  auto packages = parse_dpkg_status("Package: zlib1g\nStatus: install ok installed\n"
                                    "Architecture: amd64\nVersion: 1:1.2.13\n"
                                    "Description: compression\n multi-line\n\n"
                                    "Package: gone\nStatus: deinstall ok config-files\n"
                                    "Architecture: all\nVersion: 1\n\n"
                                    "Package: bash\nStatus: install ok installed\n"
                                    "Architecture: amd64\nVersion: 5.2.15-2+b2\n");
  ASSERT_EQ(packages.size(), 2u);
  EXPECT_EQ(packages[0].name, "bash");
  EXPECT_EQ(packages[0].version, "5.2.15-2+b2");
  EXPECT_EQ(packages[1].name, "zlib1g");
  EXPECT_EQ(packages[1].version, "1:1.2.13");
  EXPECT_EQ(packages[1].architecture, "amd64");
}

struct TarEntry {
  std::string type;
  long long mtime;
  std::string link;
  std::string content;
};

std::map<std::string, TarEntry> read_tar(const fs::path& file, std::vector<std::string>* order)
{
  std::map<std::string, TarEntry> entries;
  struct archive* a = archive_read_new();
  archive_read_support_format_all(a);
  archive_read_support_filter_all(a);
  EXPECT_EQ(archive_read_open_filename(a, file.c_str(), 65536), ARCHIVE_OK);
  struct archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    TarEntry entry;
    auto type = archive_entry_filetype(e);
    entry.type = type == AE_IFDIR ? "dir" : type == AE_IFLNK ? "symlink" : "file";
    entry.mtime = archive_entry_mtime(e);
    if (archive_entry_hardlink(e))
      entry.link = std::string("hard:") + archive_entry_hardlink(e);
    if (archive_entry_symlink(e))
      entry.link = archive_entry_symlink(e);
    std::string content(static_cast<size_t>(archive_entry_size(e)), '\0');
    archive_read_data(a, content.data(), content.size());
    entry.content = content;
    order->push_back(archive_entry_pathname(e));
    entries[archive_entry_pathname(e)] = entry;
  }
  archive_read_free(a);
  return entries;
}

class TarExport : public ::testing::Test {
protected:
  void SetUp() override
  {
    tree_ = kiln::test::TempDir("tar");
    tree_.write("etc/os-release", "ID=debian\n");
    tree_.write("usr/bin/tool", "#!/bin/sh\n");
    tree_.write("dev/null-placeholder", "x");
    tree_.symlink("bin", "usr/bin");
    ::link((tree_.path() / "usr/bin/tool").c_str(), (tree_.path() / "usr/bin/tool-alias").c_str());
    struct utimbuf old_time {
      1000, 1000
    };
    ::utime((tree_.path() / "etc/os-release").c_str(), &old_time);
    out_ = kiln::test::TempDir("tar-out");
  }
  kiln::test::TempDir tree_;
  kiln::test::TempDir out_;
};

TEST_F(TarExport, same_tree_gives_same_bytes)
{
  auto first = write_rootfs_tar(tree_.path(), out_.path() / "a.tar.zst", 5000, {});
  auto second = write_rootfs_tar(tree_.path(), out_.path() / "b.tar.zst", 5000, {});
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->sha256, second->sha256);
  EXPECT_EQ(first->size, fs::file_size(out_.path() / "a.tar.zst"));
  auto third = write_rootfs_tar(tree_.path(), out_.path() / "c.tar.zst", 6000, {});
  EXPECT_NE(third->sha256, first->sha256);
}

TEST_F(TarExport, entries_are_sorted_clamped_linked_and_dev_is_empty)
{
  ASSERT_TRUE(write_rootfs_tar(tree_.path(), out_.path() / "a.tar.zst", 5000, {}));
  std::vector<std::string> order;
  auto entries = read_tar(out_.path() / "a.tar.zst", &order);
  EXPECT_EQ(order, (std::vector<std::string>{"bin", "dev/", "etc/", "etc/os-release", "usr/",
                                             "usr/bin/", "usr/bin/tool", "usr/bin/tool-alias"}));
  EXPECT_EQ(entries["etc/os-release"].mtime, 1000); // older than the epoch: kept
  EXPECT_EQ(entries["usr/bin/tool"].mtime, 5000);   // newer: clamped
  EXPECT_EQ(entries["bin"].type, "symlink");
  EXPECT_EQ(entries["bin"].link, "usr/bin");
  EXPECT_EQ(entries["usr/bin/tool"].content, "#!/bin/sh\n");
  EXPECT_EQ(entries["usr/bin/tool-alias"].link, "hard:usr/bin/tool");
}

TEST(manifest, carries_its_format_version_and_outputs)
{
  Manifest m;
  m.name = "agent";
  m.version = "1.0.0";
  m.outputs.push_back({"rootfs", "rootfs.tar.zst", "ab", 10, "", 0});
  m.packages.push_back({"bash", "5.2", "amd64", "", "shells", "GNU Bourne Again SHell", "GPL-3+",
                        "GPL-3.0-or-later", std::string(64, 'b')});
  auto json = to_json(m);
  EXPECT_EQ(json["manifest_format"], 1);
  EXPECT_EQ(json["outputs"][0]["sha256"], "ab");
  EXPECT_EQ(json["packages"][0]["name"], "bash");
  EXPECT_EQ(json["packages"][0]["license_spdx"], "GPL-3.0-or-later");
  EXPECT_EQ(json["packages"][0]["sha256"], std::string(64, 'b'));
  EXPECT_EQ(kiln::image::package_from_json(json["packages"][0]).sha256, std::string(64, 'b'));
  EXPECT_FALSE(json["packages"][0].contains("source")); // empty fields are left out
  EXPECT_TRUE(json["git_commit"].is_null());
}

// OUT is read back in one place: a missing or damaged manifest, and an edited tar, are named.
TEST(out_dir, reads_a_finished_folder_and_refuses_what_its_manifest_does_not_say)
{
  kiln::test::TempDir dir("out");
  auto missing = out::read_finished(dir.path());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("holds no finished image (no manifest.json)"),
            std::string::npos);
  dir.write("manifest.json", "{\"name\": \"agent\"");
  auto damaged = out::read_finished(dir.path());
  ASSERT_FALSE(damaged);
  EXPECT_NE(damaged.error().message.find("is damaged"), std::string::npos);

  dir.write("rootfs.tar.zst", "tar bytes");
  Manifest m;
  m.name = "agent";
  m.version = "1.0.0";
  m.outputs.push_back({"rootfs", "rootfs.tar.zst", kiln::util::sha256_hex("tar bytes"), 9, "", 0});
  dir.write("manifest.json", to_json(m).dump());
  auto verified = out::read_verified(dir.path(), "the image");
  ASSERT_TRUE(verified) << verified.error().message;
  EXPECT_EQ(verified->name, "agent");
  EXPECT_EQ(verified->sha256_of(out::kRootfsTar), kiln::util::sha256_hex("tar bytes"));
  dir.write("rootfs.tar.zst", "edited");
  auto edited = out::read_verified(dir.path(), "the parent image");
  ASSERT_FALSE(edited);
  EXPECT_NE(edited.error().message.find("the parent image in"), std::string::npos);
  EXPECT_NE(edited.error().message.find("does not match its manifest"), std::string::npos);
}

TEST(out_dir, clear_removes_what_a_bake_writes_and_nothing_else)
{
  kiln::test::TempDir dir("out");
  for (const char* name :
       {"manifest.json", "rootfs.tar.zst", ".rootfs.tar.zst.partial", "sbom.cdx.json",
        "report.html", "logs/01-base.log", "tests/junit.xml", "notes.txt", "disk.raw"})
    dir.write(name, "x");
  ASSERT_TRUE(out::clear(dir.path(), {"rootfs.tar.zst", "disk.raw"}));
  std::vector<std::string> left;
  for (const auto& entry : fs::recursive_directory_iterator(dir.path()))
    left.push_back(fs::relative(entry.path(), dir.path()).string());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"logs", "notes.txt"}));
}

TEST(out_dir, the_records_of_the_run_are_not_the_image)
{
  for (const char* path : {"logs/02-tools.log", "timings.json", "report.html", "tests/results.json",
                           "tests/junit.xml"})
    EXPECT_TRUE(out::records_the_run(path)) << path;
  for (const char* path : {"rootfs.tar.zst", "manifest.json", "tests/tests.json", "sbom.cdx.json"})
    EXPECT_FALSE(out::records_the_run(path)) << path;
}

} // namespace
