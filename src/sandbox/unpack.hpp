// Unpacking an archive that came from outside (an artifact, a parent image, a pulled version)
// into a folder, in a child process whose whole root is that folder.
//
// util/archive.cpp already refuses names and link targets that leave the destination. Doing
// the work in a sandbox as well means that a check it lacks cannot reach the host: the child has
// pivoted into the destination, detached the host's root, has no network and is confined like a
// step (confine.hpp), with just the capabilities that owners, modes and file capabilities need.
#pragma once

#include "util/error.hpp"
#include "util/process.hpp"

#include <filesystem>

namespace kiln::sandbox {

// Extracts `archive` into `dest` (made when missing) as util::extract_archive does, with
// `whole_tree` keeping owners, modes and extended attributes. The child's output, if any, goes
// to `observer`.
Status extract_confined(const std::filesystem::path& archive, const std::filesystem::path& dest,
                        int strip_components, bool whole_tree, util::ProcessObserver* observer);

} // namespace kiln::sandbox
