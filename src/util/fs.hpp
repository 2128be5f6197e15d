// File helpers: whole-file reads, atomic writes, safe tree removal.
#pragma once

#include "util/error.hpp"

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace kiln::util {

namespace fs = std::filesystem;

Expected<std::string> read_file(const fs::path& path);

// A file someone else wrote: a regular file (not a folder, FIFO or device, which could make the
// read block or never end) of at most `max_bytes`. `what` names it in the size error ("a
// definition"). Input errors (exit 4) naming the file.
Expected<std::string> read_file_bounded(const fs::path& path, size_t max_bytes,
                                        const std::string& what = "such a file");

// Writes to PATH.tmp-PID, fsyncs, then renames over PATH, so readers never see half a file.
// Reads a regular file (not through a link) block by block, handing each to `block`; an error
// from either stops it.
Status read_blocks(const fs::path& path, const std::function<Status(std::string_view)>& block);

Status write_file_atomic(const fs::path& path, std::string_view content, mode_t mode = 0644);
// The same without the fsync: whole or absent after a crash of the process, but not after a
// crash of the machine until the caller syncs the filesystem (sync_filesystem).
Status write_file_replacing(const fs::path& path, std::string_view content, mode_t mode = 0644);
// Makes everything written to the filesystem that holds `path` durable (syncfs).
Status sync_filesystem(const fs::path& path);

Status make_dirs(const fs::path& path);

// Reads and parses a JSON file; an unreadable file or invalid JSON is an input error naming it.
Expected<nlohmann::json> read_json_file(const fs::path& path);

// True when `path`, after lexical normalisation, stays inside `base` (both taken as given, no
// symlinks followed). Used to reject definitions whose paths climb out of their folder.
bool lexically_within(const fs::path& base, const fs::path& path);

// A plain relative path such as "logs/01-bootstrap.log": not empty, not absolute, no ".", ".."
// or empty component, no NUL. What a path read from a store or an archive must be before it is
// joined to a folder.
bool is_plain_relative_path(std::string_view path);

// Mount points at or below `path`, read from /proc/self/mountinfo.
std::vector<std::string> mounts_under(const fs::path& path);

// Removes a tree, refusing if anything below it is still mounted (so a removal can never reach
// into a bind-mounted host folder).
Status remove_tree(const fs::path& path);

// Free bytes on the filesystem holding `path`, or -1 when unknown.
long long free_bytes(const fs::path& path);

} // namespace kiln::util
