// What a build checks before any work: root and mmdebstrap, and a cache folder that can hold
// overlayfs layers.
#pragma once

#include "util/error.hpp"

#include <filesystem>

namespace kiln::bake {

// Root (namespaces, mounts) and mmdebstrap.
Status check_environment();

// Mounts a tiny overlay in the cache folder, so that a filesystem that cannot hold layers is
// reported before minutes of work rather than at the first step.
Status check_overlay_support(const std::filesystem::path& cache_dir);

} // namespace kiln::bake
