// kiln publish: a build's output folder into the store as NAME@VERSION. Chunks the store lacks go
// first, then the store is synced, then one conditional create makes the version visible: a
// publish that dies before that leaves only chunks that nothing refers to (gc removes them), never
// a half version. Publishing a version again is a no-op when the files are byte-identical and is
// refused when they differ.
#pragma once

#include "release/config.hpp"
#include "store/store.hpp"
#include "util/error.hpp"

#include <filesystem>
#include <functional>
#include <string>

namespace kiln::release {

struct PublishResult {
  std::string name, version;
  bool unchanged = false; // the same content was published before
  std::string keyid;      // empty: unsigned
  size_t files = 0, chunks = 0, new_chunks = 0;
  uint64_t size = 0;      // of the files
  uint64_t new_bytes = 0; // stored by this publish (compressed)
};

// `progress` hears of each file as it is stored.
Expected<PublishResult> publish(store::Store& store, const std::filesystem::path& out,
                                const ReleaseConfig& config,
                                const std::function<void(const std::string&)>& progress = {});

} // namespace kiln::release
