// Post-processing of an ext4 file system that mke2fs wrote into a file, with libext2fs.
#pragma once

#include "util/error.hpp"

#include <cstdint>
#include <filesystem>

namespace kiln::util {

// Sets every inode's access, change and creation times to `epoch`, and its modification time to
// `epoch` when it is later (mke2fs -d copies times from the tree, where they are the bake's). The
// file system starts `offset` bytes into `file`. Returns the number of inodes changed.
Expected<uint64_t> clamp_ext4_times(const std::filesystem::path& file, uint64_t offset,
                                    int64_t epoch);

} // namespace kiln::util
