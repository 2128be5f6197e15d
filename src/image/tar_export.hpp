// Writing a tree as a deterministic rootfs.tar.zst.
//
// The same tree gives the same bytes: entries in sorted order (each folder before its contents),
// numeric owners only, modification times clamped to SOURCE_DATE_EPOCH, no access or change times,
// hard links kept as links, and the security.capability attribute (file capabilities, e.g. of
// ping) kept. /dev is written as an empty folder: a runtime or the kernel provides its nodes.
// Names are converted to UTF-8 from the LC_CTYPE locale, so the caller (a child process) sets
// one locale for every machine, C.UTF-8. GNU tar, bsdtar, Python's tarfile and Go's archive/tar
// read the result without a warning. The zstd stream is one frame per content-defined chunk of
// the tar (util/framed_zstd.hpp), which every zstd reader reads as one stream.
#pragma once

#include "util/error.hpp"
#include "util/redact.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace kiln::image {

struct TarResult {
  std::string sha256; // of the compressed file
  uint64_t size = 0;  // bytes of the compressed file
  uint64_t entries = 0;
};

using TarProgress = std::function<void(uint64_t entries, uint64_t input_bytes)>;

// With `secrets`, every file's content and link target is searched for their values as it is
// written; a hit fails the export, naming the secret and the file.
Expected<TarResult> write_rootfs_tar(const std::filesystem::path& tree,
                                     const std::filesystem::path& dest, int64_t source_date_epoch,
                                     const TarProgress& progress,
                                     const util::Redactor* secrets = nullptr);

} // namespace kiln::image
