// image/disk_layout and util/ext4: the numbers and names of kiln's disks, and the file times of
// the root file system.
#include "image/disk_layout.hpp"
#include "test_support.hpp"
#include "util/ext4.hpp"
#include "util/process.hpp"

#include <fstream>
#include <gtest/gtest.h>
#include <regex>
#include <sys/stat.h>

using namespace kiln;
namespace fs = std::filesystem;
using kiln::test::TempDir;

TEST(DiskIds, are_uuids_derived_from_the_image_and_differ_by_purpose)
{
  auto a = image::disk_ids("aa11");
  auto again = image::disk_ids("aa11");
  auto other = image::disk_ids("bb22");
  std::regex uuid("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  for (const auto& id : {a.disk_guid, a.esp_guid, a.root_guid, a.root_uuid, a.root_hash_seed})
    EXPECT_TRUE(std::regex_match(id, uuid)) << id;
  EXPECT_EQ(a.root_uuid, again.root_uuid);
  EXPECT_NE(a.root_uuid, other.root_uuid);
  EXPECT_NE(a.root_uuid, a.root_guid);
  EXPECT_EQ(a.esp_serial.size(), 8u);
}

TEST(DiskLayout, sizes_the_root_from_the_tree_with_a_margin)
{
  image::TreeUsage usage{800 * image::kMiB, 24000};
  auto layout = image::plan_disk(usage, 60 * image::kMiB, 0);
  ASSERT_TRUE(layout);
  EXPECT_EQ(layout->esp_offset, image::kMiB);
  EXPECT_EQ(layout->esp_size, 152 * image::kMiB); // twice the boot files and 32 MiB
  EXPECT_EQ(layout->root_offset, layout->esp_offset + layout->esp_size);
  EXPECT_GT(layout->root_needed, usage.bytes);
  EXPECT_GT(layout->root_size, layout->root_needed + 256 * image::kMiB);
  EXPECT_EQ(layout->disk_size, layout->root_offset + layout->root_size + image::kMiB);
  EXPECT_EQ(layout->root_size % image::kMiB, 0u);
  EXPECT_FALSE(layout->root_size_given);
}

TEST(DiskLayout, a_root_size_too_small_names_the_size_needed)
{
  image::TreeUsage usage{800 * image::kMiB, 24000};
  auto small = image::plan_disk(usage, 60 * image::kMiB, 512 * image::kMiB);
  ASSERT_FALSE(small);
  EXPECT_NE(small.error().message.find("root_size (512 MiB) is too small"), std::string::npos)
      << small.error().message;
  EXPECT_NE(small.error().message.find("needs at least"), std::string::npos);
  auto given = image::plan_disk(usage, 60 * image::kMiB, 4096 * image::kMiB);
  ASSERT_TRUE(given);
  EXPECT_EQ(given->root_size, 4096 * image::kMiB);
  EXPECT_TRUE(given->root_size_given);
}

TEST(DiskLayout, many_small_files_get_enough_inodes)
{
  image::TreeUsage usage{100 * image::kMiB, 200000};
  auto layout = image::plan_disk(usage, 0, 0);
  ASSERT_TRUE(layout);
  EXPECT_GE(layout->root_inodes, 300000u);
}

TEST(DiskLayout, the_partition_table_and_boot_entry_name_the_derived_ids)
{
  auto ids = image::disk_ids("cc33");
  auto layout = image::plan_disk({100 * image::kMiB, 1000}, 0, 0);
  ASSERT_TRUE(layout);
  std::string script = image::sfdisk_script(*layout, ids);
  EXPECT_NE(script.find("label: gpt"), std::string::npos);
  EXPECT_NE(script.find("label-id: " + ids.disk_guid), std::string::npos);
  EXPECT_NE(script.find("start=2048, size=262144, type=C12A7328"), std::string::npos) << script;
  EXPECT_NE(script.find("uuid=" + ids.root_guid), std::string::npos);
  std::string entry = image::loader_entry("agent 1.0", ids);
  EXPECT_NE(entry.find("root=UUID=" + ids.root_uuid), std::string::npos);
  EXPECT_NE(entry.find("console=ttyS0"), std::string::npos);
  EXPECT_NE(image::loader_conf().find("timeout 0"), std::string::npos);
}

TEST(Ext4Times, are_clamped_to_the_epoch_at_an_offset)
{
  if (util::find_program("mkfs.ext4").empty() && !fs::exists("/usr/sbin/mkfs.ext4") &&
      !fs::exists("/sbin/mkfs.ext4"))
    GTEST_SKIP() << "mkfs.ext4 is not installed";
  TempDir dir("disk");
  fs::path tree = dir.path() / "tree";
  fs::create_directories(tree / "etc");
  {
    std::ofstream(tree / "etc/hostname") << "agent\n";
  }
  fs::path disk = dir.path() / "disk.raw";
  {
    std::ofstream(disk).close();
  }
  fs::resize_file(disk, 40 * image::kMiB);
  int code = -1;
  auto made = util::capture_output(
      {"mkfs.ext4", "-q", "-F", "-E", "offset=1048576", "-d", tree.string(), disk.string(), "8192"},
      &code);
  ASSERT_TRUE(made && code == 0) << (made ? *made : made.error().message);
  auto changed = util::clamp_ext4_times(disk, 1048576, 1700000000);
  ASSERT_TRUE(changed) << changed.error().message;
  EXPECT_GE(*changed, 3u); // the root, lost+found, etc, hostname
  auto stat = util::capture_output(
      {"debugfs", "-R", "stat /etc/hostname", disk.string() + "?offset=1048576"}, &code);
  ASSERT_TRUE(stat);
  EXPECT_NE(stat->find("ctime: 0x6553f100"), std::string::npos) << *stat;
  EXPECT_NE(stat->find("mtime: 0x6553f100"), std::string::npos) << *stat;
  auto opened = util::clamp_ext4_times(dir.path() / "missing.raw", 0, 1);
  EXPECT_FALSE(opened);
}
