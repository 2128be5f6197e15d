// Writes a bootable raw disk from a tree (image/disk_layout plans it): the partition table with
// sfdisk, the EFI system partition with mkfs.fat and mtools, the root with mke2fs -d, each at its
// offset in the one sparse file. No loop device, nothing mounted on the host.
#pragma once

#include "image/disk_layout.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <filesystem>
#include <string>

namespace kiln::bake {

struct RawDiskJob {
  std::filesystem::path tree; // the generalized image, read without following its links out
  std::filesystem::path file; // the disk to write
  std::string title;          // the boot entry's: "NAME VERSION"
  std::string image_digest;   // what the ids derive from; "" : the tree's metadata
  int64_t source_date_epoch = 0;
  uint64_t root_size = 0; // requirements.storage.root_size; 0: from the tree
};

struct RawDisk {
  image::DiskLayout layout;
  image::TreeUsage usage;
  std::string kernel; // "6.1.0-28-cloud-amd64"
};

Expected<RawDisk> write_raw_disk(const RawDiskJob& job);

// The host programs a disk needs, as "program (Debian package)" for those missing.
// The Debian versions of the packages the disk tools come from (e2fsprogs, dosfstools, mtools,
// fdisk, qemu-utils), as one line: another version may write other bytes, so it is part of a
// disk's export key. Asked once per run.
std::string disk_tool_versions();

std::vector<std::string> missing_disk_tools(bool convert);

} // namespace kiln::bake
