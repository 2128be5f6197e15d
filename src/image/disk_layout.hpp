// The layout of kiln's bootable disks, as plain numbers and text: a GPT disk with an EFI system
// partition (FAT32, the boot loader, kernel and initramfs) and an ext4 root. Everything that
// names the disk (GUIDs, the file system's UUID, the FAT serial, ext4's hash seed) is derived from
// a digest of the image's content (exporters/exporter.hpp), so that the same image gives the
// same disk. The disk exporter
// (bake/exporters/disk) writes what this plans.
#pragma once

#include "util/error.hpp"

#include <cstdint>
#include <string>

namespace kiln::image {

inline constexpr uint64_t kMiB = 1024 * 1024;

// What the root file system must hold, from a walk of the tree.
struct TreeUsage {
  uint64_t bytes = 0;  // file contents and folders, each rounded up to 4 KiB blocks
  uint64_t inodes = 0; // entries, links counted once
};

struct DiskIds {
  std::string disk_guid; // GPT label-id
  std::string esp_guid;  // partition GUIDs
  std::string root_guid;
  std::string root_uuid;      // the ext4 file system's UUID (root=UUID=... on the command line)
  std::string root_hash_seed; // ext4's directory hash seed
  std::string esp_serial;     // FAT volume id, 8 hex digits
};

// Derived from `image_digest` (hex) and a purpose, as RFC 4122 version 4 UUIDs.
DiskIds disk_ids(const std::string& image_digest);

struct DiskLayout {
  uint64_t esp_offset = 0; // bytes from the start of the disk; all MiB-aligned
  uint64_t esp_size = 0;
  uint64_t root_offset = 0;
  uint64_t root_size = 0;
  uint64_t root_needed = 0; // the smallest root that holds the tree (the estimate behind it)
  uint64_t root_inodes = 0; // 0: mke2fs's default ratio suffices
  uint64_t disk_size = 0;   // the GPT's backup copy after the root included
  bool root_size_given = false;
};

// The layout for a tree of `usage` and boot files of `boot_bytes`. `root_size` is
// requirements.storage.root_size (0: the tree plus a margin). A root_size too small for the tree
// is an error that names the size needed.
Expected<DiskLayout> plan_disk(const TreeUsage& usage, uint64_t boot_bytes, uint64_t root_size);

// The input of `sfdisk` that writes the partition table.
std::string sfdisk_script(const DiskLayout& layout, const DiskIds& ids);

// systemd-boot's loader.conf and the one entry it boots, kernel and initramfs at /kiln/ on the
// ESP; the console is both the screen and the first serial port (the boot test reads it).
std::string loader_conf();
std::string loader_entry(const std::string& title, const DiskIds& ids);

// "1.5 GiB", "640 MiB"
std::string human_size(uint64_t bytes);

} // namespace kiln::image
