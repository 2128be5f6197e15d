// Looking after the cache folder: what is in it, and removing what is old or too much.
// Every entry a running build uses is held under a shared lock (CACHE/locks); pruning takes the
// lock exclusively without waiting and leaves the entry alone when it cannot have it.
#pragma once

#include "util/error.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace kiln::bake {

struct CacheEntry {
  std::string kind; // "layer", "export", "artifact", "packages", "memo", "image"
  std::string key;
  std::string image;
  std::string step;
  uint64_t size = 0;
  int64_t created = 0;
  int64_t last_used = 0;
  bool in_use = false;
  std::filesystem::path path;
};

// Every entry, most recently used first.
Expected<std::vector<CacheEntry>> list_cache(const std::filesystem::path& cache_dir);

struct PruneLimits {
  std::optional<uint64_t> max_size;  // bytes the cache may keep
  std::optional<int64_t> older_than; // seconds since last use
};

struct PruneResult {
  std::vector<CacheEntry> removed;
  std::vector<CacheEntry> skipped_in_use;
  uint64_t freed = 0;
  uint64_t left = 0;
};

// Removes entries not used within `older_than`, then the least recently used ones until the
// cache fits in `max_size`.
Expected<PruneResult> prune_cache(const std::filesystem::path& cache_dir, const PruneLimits& limits,
                                  bool dry_run);

} // namespace kiln::bake
