// Facts from git about a file, when it lives in a git work tree.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace kiln::util {

// HEAD's commit of the repository holding `path`, or nullopt outside git.
std::optional<std::string> git_head_commit(const std::filesystem::path& path);

// The commit time (Unix seconds) of the last commit that touched `file`, or nullopt.
std::optional<int64_t> git_commit_time(const std::filesystem::path& file);

} // namespace kiln::util
