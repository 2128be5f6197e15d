#include "image/disk_layout.hpp"

#include "util/hash.hpp"

#include <cstdio>

namespace kiln::image {

namespace {

constexpr uint64_t kBlock = 4096;
constexpr uint64_t kInodeSize = 256;
constexpr uint64_t kBytesPerInode = 16384; // mke2fs's default ratio
constexpr uint64_t kMinEsp = 128 * kMiB;   // FAT32 needs 65,525 clusters or more

uint64_t round_up(uint64_t value, uint64_t unit)
{
  return (value + unit - 1) / unit * unit;
}

// A version 4 UUID made of the first 16 bytes of sha256(digest, purpose).
std::string derived_uuid(const std::string& digest, const std::string& purpose)
{
  std::string hex = util::sha256_hex("kiln-disk " + purpose + " " + digest);
  hex[12] = '4';
  static const char variant[] = "89ab";
  hex[16] = variant[std::stoi(hex.substr(16, 1), nullptr, 16) & 3];
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

// mke2fs's journal for a file system of `blocks` 4 KiB blocks (ext2fs_default_journal_size).
uint64_t journal_bytes(uint64_t blocks)
{
  if (blocks < 32768)
    return 1024 * kBlock;
  if (blocks < 256 * 1024)
    return 4096 * kBlock;
  if (blocks < 512 * 1024)
    return 8192 * kBlock;
  if (blocks < 4096 * 1024)
    return 16384 * kBlock;
  return 32768 * kBlock;
}

// What a root of `size` bytes and `inodes` inodes spends besides file contents: inode tables,
// the journal, and about 2 % in group descriptors, bitmaps and the reserve mke2fs leaves.
uint64_t overhead(uint64_t size, uint64_t inodes)
{
  return inodes * kInodeSize + journal_bytes(size / kBlock) + size / 50;
}

} // namespace

DiskIds disk_ids(const std::string& image_digest)
{
  DiskIds ids;
  ids.disk_guid = derived_uuid(image_digest, "disk");
  ids.esp_guid = derived_uuid(image_digest, "esp");
  ids.root_guid = derived_uuid(image_digest, "root-partition");
  ids.root_uuid = derived_uuid(image_digest, "root-fs");
  ids.root_hash_seed = derived_uuid(image_digest, "root-hash-seed");
  ids.esp_serial = util::sha256_hex("kiln-disk esp-serial " + image_digest).substr(0, 8);
  return ids;
}

Expected<DiskLayout> plan_disk(const TreeUsage& usage, uint64_t boot_bytes, uint64_t root_size)
{
  DiskLayout layout;
  layout.esp_offset = kMiB;
  layout.esp_size = std::max(kMinEsp, round_up(boot_bytes * 2 + 32 * kMiB, kMiB));
  // The smallest root: the tree and the overhead of a root that size, found by a few rounds
  // (the journal and the tables grow with the size).
  uint64_t inodes_wanted = usage.inodes * 3 / 2 + 4096;
  uint64_t needed = usage.bytes;
  for (int i = 0; i < 4; ++i) {
    uint64_t inodes = std::max(inodes_wanted, needed / kBytesPerInode);
    needed = round_up(usage.bytes + overhead(needed, inodes), kMiB);
  }
  layout.root_needed = needed;
  if (root_size > 0) {
    if (root_size < needed)
      return make_error(ExitCode::invalid_definition,
                        "requirements.storage.root_size (" + human_size(root_size) +
                            ") is too small for the image: its root needs at least " +
                            human_size(needed),
                        "raise root_size to " + human_size(round_up(needed, 256 * kMiB)) +
                            " or more, or leave it out to size the disk from the image");
    layout.root_size = round_up(root_size, kMiB);
    layout.root_size_given = true;
  } else {
    // A quarter more than the tree and 256 MiB, for the first boot's logs and packages; the root
    // grows to the disk at first boot anyway.
    layout.root_size = round_up(needed + needed / 4 + 256 * kMiB, kMiB);
  }
  if (layout.root_size / kBytesPerInode < inodes_wanted)
    layout.root_inodes = inodes_wanted;
  layout.root_offset = layout.esp_offset + layout.esp_size;
  layout.disk_size = layout.root_offset + layout.root_size + kMiB;
  return layout;
}

std::string sfdisk_script(const DiskLayout& layout, const DiskIds& ids)
{
  constexpr uint64_t kSector = 512;
  auto line = [](uint64_t offset, uint64_t size, const char* type, const std::string& uuid,
                 const char* name) {
    return "start=" + std::to_string(offset / kSector) +
           ", size=" + std::to_string(size / kSector) + ", type=" + type + ", uuid=" + uuid +
           ", name=\"" + name + "\"\n";
  };
  return "label: gpt\n"
         "label-id: " +
         ids.disk_guid +
         "\n"
         "unit: sectors\n"
         "first-lba: 2048\n" +
         line(layout.esp_offset, layout.esp_size, "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
              ids.esp_guid, "esp") +
         // The "Linux root (x86-64)" type of the Discoverable Partitions Specification.
         line(layout.root_offset, layout.root_size, "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709",
              ids.root_guid, "root");
}

std::string loader_conf()
{
  return "default kiln.conf\ntimeout 0\neditor no\nconsole-mode keep\n";
}

std::string loader_entry(const std::string& title, const DiskIds& ids)
{
  return "title " + title +
         "\n"
         "linux /kiln/vmlinuz\n"
         "initrd /kiln/initrd.img\n"
         "options root=UUID=" +
         ids.root_uuid + " ro console=tty0 console=ttyS0,115200n8\n";
}

std::string human_size(uint64_t bytes)
{
  char text[32];
  if (bytes >= 1024 * kMiB && bytes % (1024 * kMiB) == 0)
    std::snprintf(text, sizeof text, "%llu GiB",
                  static_cast<unsigned long long>(bytes / (1024 * kMiB)));
  else if (bytes >= 1024 * kMiB)
    std::snprintf(text, sizeof text, "%.1f GiB", static_cast<double>(bytes) / (1024.0 * kMiB));
  else
    std::snprintf(text, sizeof text, "%llu MiB",
                  static_cast<unsigned long long>((bytes + kMiB - 1) / kMiB));
  return text;
}

} // namespace kiln::image
