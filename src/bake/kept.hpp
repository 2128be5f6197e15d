// A failed bake's tree, kept with `--on-error=abort` for `kiln shell OUT` to enter:
//
//   OUT/kept.json        the layers the failed step ran on, which step failed and why
//   CACHE/kept/ID/upper  the failed step's changes (its overlayfs upper folder), when a step's
//                        own layer failed; ID is derived from OUT's path
//   CACHE/kept/ID/machine.qcow2  builder: vm: the machine's disk as the failed step left it (a
//                        qcow2 over the base disk), which `kiln shell OUT` boots
//
// The layers stay in the cache under their keys. Paths are never read from kept.json: the
// folder of the changes is derived from the cache and OUT, and layer keys must look like keys,
// so that a kept.json from elsewhere cannot make `kiln shell` mount a host folder. The next
// build into OUT, or `kiln shell OUT --discard`, removes both.
#pragma once

#include "util/error.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace kiln::bake {

inline constexpr const char* kKeptFile = "kept.json";

struct KeptTree {
  std::vector<std::string> layers; // keys, topmost first
  bool has_changes = false;        // CACHE/kept/ID/upper holds the failed step's changes
  bool machine = false;            // CACHE/kept/ID/machine.qcow2 holds the machine's disk
  std::string step;                // the phase that failed
  std::string error;               // its message
  std::string cache_dir;           // the cache it was built with (to explain a mismatch)
  int64_t created = 0;             // Unix seconds
};

// CACHE/kept/ID for OUT.
std::filesystem::path kept_dir(const std::filesystem::path& cache_dir,
                               const std::filesystem::path& out_dir);

// CACHE/kept/ID/machine.qcow2 for OUT.
std::filesystem::path kept_machine_disk(const std::filesystem::path& cache_dir,
                                        const std::filesystem::path& out_dir);

// Moves a failed layer's folder (a pending layer: tree/ and work/) to CACHE/kept/ID, as upper/
// and work/.
Status keep_changes(const std::filesystem::path& cache_dir, const std::filesystem::path& out_dir,
                    const std::filesystem::path& pending_dir);

Status write_kept(const std::filesystem::path& out_dir, const KeptTree& kept);

// OUT's kept tree; nullopt when it has none. A damaged kept.json is an input error.
Expected<std::optional<KeptTree>> read_kept(const std::filesystem::path& out_dir);

// Removes OUT/kept.json and CACHE/kept/ID.
Status discard_kept(const std::filesystem::path& cache_dir, const std::filesystem::path& out_dir);

} // namespace kiln::bake
