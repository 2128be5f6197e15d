// kiln gc: retention. Per image it keeps every version a channel points to, the newest N, and
// those younger than a set age; it removes the other versions, the shared cache's layers older
// than that age, then the chunks that no remaining
// version refers to, then what interrupted publishes left. It holds the store's exclusive lock, so
// no publish runs meanwhile.
#pragma once

#include "release/config.hpp"
#include "store/store.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::release {

struct VersionAge {
  std::string version; // in precedence order, lowest first, in the list given
  int64_t published = 0;
  bool in_channel = false;
};

// The versions of one image that retention removes.
std::vector<std::string> expired_versions(const std::vector<VersionAge>& versions,
                                          const Retention& retention, int64_t now);

struct GcResult {
  bool dry_run = false;
  std::vector<std::string> versions; // NAME@VERSION removed (or to remove)
  size_t kept_versions = 0;
  std::vector<std::string> cache_layers; // keys of shared cache layers removed (or to remove)
  size_t kept_cache_layers = 0;
  size_t blobs = 0;       // chunks removed
  int64_t blob_bytes = 0; // their stored size
  size_t litter = 0;      // files of interrupted publishes removed
};

// Refuses (exit 6) a store whose index lost what it listed (Store::index_loss) unless `force`:
// every chunk would look unneeded.
Expected<GcResult> gc(store::Store& store, const Retention& retention, bool dry_run,
                      bool force = false);

} // namespace kiln::release
