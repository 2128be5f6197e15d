// kiln store fsck: the whole store, read-only.
#pragma once

#include "release/config.hpp"
#include "store/store.hpp"

#include <string>
#include <vector>

namespace kiln::release {

struct FsckReport {
  size_t versions = 0, blobs = 0, channels = 0, cache_layers = 0;
  int64_t blob_bytes = 0;            // the chunks' stored size
  std::vector<std::string> problems; // each names the object at fault
  std::vector<std::string> notes;    // not damage: e.g. what an interrupted publish left
};

// Checks every chunk (decompressed and hashed), every version (readable, signed when a public
// key is configured, its provenance naming its files, every chunk it needs present) and every
// channel (it points at a version).
// Changes nothing.
Expected<FsckReport> fsck(store::Store& store, const ReleaseConfig& config);

} // namespace kiln::release
