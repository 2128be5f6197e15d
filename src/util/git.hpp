// Facts from git about a file, when it lives in a git work tree.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace kiln::util {

// HEAD's commit of the repository holding `path`, or nullopt outside git.
std::optional<std::string> git_head_commit(const std::filesystem::path& path);

// The commit time (Unix seconds) of the last commit that touched `file`, or nullopt.
std::optional<int64_t> git_commit_time(const std::filesystem::path& file);

struct GitCommit {
  std::string id;
  int64_t time = 0; // commit time, Unix seconds
};

// The commits that touched `file`, newest first, at most `limit` of them; empty outside git.
std::vector<GitCommit> git_file_history(const std::filesystem::path& file, size_t limit);

// The text of `file` as `commit` has it, or nullopt (not in that commit, or over `max_bytes`).
std::optional<std::string> git_file_at(const std::filesystem::path& file, const std::string& commit,
                                       size_t max_bytes);

} // namespace kiln::util
