// Remembered SHA-256 digests of files, re-checked by their stat data before use.
//
// As ccache's direct mode trusts a file whose size and times have not changed, kiln does not
// hash an unchanged artifact, parent rootfs or cached export again on every build: the digest is
// kept with the file's device, inode, size, modification and change times (nanoseconds), and
// used only while all of them match. Any write changes the change time, which no user can set,
// so an edited file is always hashed again. The memo is a JSON file in kiln's cache; a damaged
// or missing one is simply empty.
#pragma once

#include "util/error.hpp"

#include <filesystem>
#include <map>
#include <string>
#include <sys/stat.h>

namespace kiln::util {

// "dev:ino:size:mtime_ns:ctime_ns": what changes whenever a file is written or replaced.
std::string stat_signature(const struct stat& st);

class DigestMemo {
public:
  // An empty memo that remembers nothing beyond this process (no file).
  DigestMemo() = default;
  // The memo kept in `file` (loaded now; written by save()).
  explicit DigestMemo(std::filesystem::path file);

  // The file's SHA-256 (hex): remembered while the stat data match, else hashed and remembered.
  Expected<std::string> sha256_file(const std::filesystem::path& path);

  // Writes the memo back when it changed (atomically; a failure only costs hashing next time).
  void save();

  size_t hits() const { return hits_; }

private:
  struct Entry {
    std::string stat; // "dev:ino:size:mtime_ns:ctime_ns"
    std::string sha256;
  };
  std::filesystem::path file_;
  std::map<std::string, Entry> entries_; // by absolute path
  bool changed_ = false;
  size_t hits_ = 0;
};

} // namespace kiln::util
