// A whole bake: inputs, base layer, one layer per step, generalize, export, manifest.
//
// Every layer is looked up in the layer cache first (bake/layer_cache, keys from bake/plan) and
// built only on a miss. Outputs land in OUT only when everything succeeded: the tar is copied in
// under a temporary name and renamed, and manifest.json is written last, so a folder with a
// manifest is always complete. A failed or interrupted build leaves OUT/logs and nothing that
// looks like a finished image.
#pragma once

#include "bake/observer.hpp"
#include "bake/options.hpp"
#include "image/manifest.hpp"
#include "spec/definition.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace kiln::bake {

struct BuildResult {
  std::filesystem::path out_dir;
  std::filesystem::path manifest_path;
  image::Manifest manifest;
  double seconds = 0;
  int cached_layers = 0; // from the local cache or the shared one
  int built_layers = 0;
  // The shared cache (--cache-from, --cache-to; bake/remote_cache.hpp).
  int shared_layers = 0;                 // of cached_layers, downloaded from the shared cache
  uint64_t shared_bytes = 0;             // read from it
  int pushed_layers = 0;                 // uploaded to the --cache-to store
  int present_layers = 0;                // that store had them already
  uint64_t pushed_bytes = 0;             // stored bytes of the new chunks
  std::vector<std::string> shared_notes; // a layer that could not be used or uploaded, and why
};

Expected<BuildResult> build(const spec::Definition& definition, const BuildOptions& options,
                            BuildObserver& observer);

} // namespace kiln::bake
