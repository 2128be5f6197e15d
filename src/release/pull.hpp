// References to published versions, and kiln pull. A reference is NAME@SELECTOR, where the
// selector is a channel (dev, staging, prod, or any configured), an exact version, or a range
// (^1.2, ~1.2.3, 1.x). A range never picks a revoked version; an exact version or a channel that
// points at a revoked one is refused unless forced.
#pragma once

#include "release/config.hpp"
#include "release/version.hpp"
#include "store/store.hpp"

#include <filesystem>
#include <functional>
#include <string>

namespace kiln::release {

struct Resolved {
  std::string name, version;
  std::string how; // "channel prod", "range ^1.2", "exact version"
  bool revoked = false;
  std::string revoked_reason;
  VersionDocument document; // the version itself, read once
};

// NAME@SELECTOR to a version. `allow_revoked` lets an exact version or a channel resolve to a
// revoked version (the result says so) instead of failing.
Expected<Resolved> resolve(store::Store& store, const ReleaseConfig& config, const std::string& ref,
                           bool allow_revoked = false);

struct PullResult {
  Resolved resolved;
  std::string keyid; // the key whose signature was checked; empty when none was configured
  size_t files = 0;
  uint64_t size = 0;
};

// Reassembles the version's files into `dir` (which must not exist or be empty), checking every
// chunk, every file's sha256 and, with a public key configured, the signature. The files appear
// in `dir` only when all of them are whole.
Expected<PullResult> pull(store::Store& store, const ReleaseConfig& config, const std::string& ref,
                          const std::filesystem::path& dir, bool force,
                          const std::function<void(const std::string&)>& progress = {});

struct FetchedImage {
  std::filesystem::path dir; // the version's output folder, whole
  Resolved resolved;
  std::string keyid;   // as for pull
  bool pulled = false; // false: the folder was already there from an earlier fetch
};

// The version REF names, as a folder below `root` (a cache): pulled as kiln pull does the first
// time, then reused while the store's version is the same (the folder is named after the
// version's signed body, and its manifest is checked against the version's). For a base a
// definition names (kiln:NAME@CHANNEL); a revoked version is refused.
Expected<FetchedImage> fetch_image(store::Store& store, const ReleaseConfig& config,
                                   const std::string& ref, const std::filesystem::path& root,
                                   const std::function<void(const std::string&)>& progress = {});

} // namespace kiln::release
