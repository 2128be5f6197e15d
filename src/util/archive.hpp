// Extracting archives (tar.gz, tar.xz, tar.zst, zip, ...) through libarchive, refusing entries
// that would land outside the destination.
#pragma once

#include "util/error.hpp"

#include <filesystem>

namespace kiln::util {

Status extract_archive(const std::filesystem::path& archive, const std::filesystem::path& dest,
                       int strip_components);

} // namespace kiln::util
