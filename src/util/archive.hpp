// Extracting archives (tar.gz, tar.xz, tar.zst, zip, ...) through libarchive, refusing entries
// that would land outside the destination.
#pragma once

#include "util/error.hpp"

#include <filesystem>

namespace kiln::util {

// With `whole_tree`, owners, permissions and extended attributes (file capabilities) are kept as
// the archive has them, as needed to unpack a root filesystem; otherwise files belong to the
// caller.
Status extract_archive(const std::filesystem::path& archive, const std::filesystem::path& dest,
                       int strip_components, bool whole_tree = false);

// The same from an open descriptor; `archive` only names it in messages. For a process that can
// no longer see the archive's path (sandbox/unpack.hpp).
Status extract_archive(int fd, const std::filesystem::path& archive,
                       const std::filesystem::path& dest, int strip_components, bool whole_tree);

} // namespace kiln::util
