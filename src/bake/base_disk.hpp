// The disk the VM builder boots (base: {disk: ...}): a kiln image folder's raw or qcow2 output,
// checked against its manifest, or a disk image file checked against the sha256 the definition
// gives. A qcow2 that points at another file (a backing file, an external data file) is refused:
// qemu would read that file too, and a definition must not reach the host's files.
#pragma once

#include "bake/step_log.hpp"
#include "spec/definition.hpp"
#include "util/digest_memo.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <filesystem>
#include <string>

namespace kiln::bake {

struct BaseDisk {
  std::filesystem::path path;
  std::string format; // "raw" or "qcow2"
  std::string sha256;
  std::string image;         // "NAME VERSION" for a kiln image folder, "" for a file
  uint64_t virtual_size = 0; // bytes, as the guest sees the disk
};

Expected<BaseDisk> resolve_base_disk(const spec::DiskBase& base, util::DigestMemo& digests,
                                     StepLog& log);

// "qcow2" or "raw" from the first bytes, and the size the guest sees; an error for a qcow2 that
// names another file.
struct DiskFormat {
  std::string name;
  uint64_t virtual_size = 0;
};
Expected<DiskFormat> disk_format_of(const std::filesystem::path& file);

} // namespace kiln::bake
