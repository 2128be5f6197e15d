// A whole bake: inputs, base layer, one layer per step, generalize, export, manifest.
//
// Every layer is looked up in the layer cache first (bake/layer_cache, keys from bake/plan) and
// built only on a miss. Outputs land in OUT only when everything succeeded: the tar is copied in
// under a temporary name and renamed, and manifest.json is written last, so a folder with a
// manifest is always complete. A failed or interrupted build leaves OUT/logs and nothing that
// looks like a finished image.
#pragma once

#include "bake/observer.hpp"
#include "image/manifest.hpp"
#include "spec/definition.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace kiln::bake {

inline constexpr int64_t kDefaultMaxAge = 7 * 86400;

struct BuildOptions {
  std::filesystem::path out_dir;
  std::filesystem::path cache_dir;
  std::optional<int64_t> source_date_epoch; // default: see source_date_epoch_of
  // Rebuild from this step on (a step name, "base", or "all"); nullopt: none.
  std::optional<std::string> refresh;
  int64_t max_age =
      kDefaultMaxAge; // seconds; base, package and ansible layers older than this are rebuilt
};

struct BuildResult {
  std::filesystem::path out_dir;
  std::filesystem::path manifest_path;
  image::Manifest manifest;
  double seconds = 0;
  int cached_layers = 0;
  int built_layers = 0;
};

Expected<BuildResult> build(const spec::Definition& definition, const BuildOptions& options,
                            BuildObserver& observer);

// What `kiln build --explain` reports for one layer, without building anything.
struct LayerExplanation {
  std::string step;
  std::string kind;
  std::string key; // "" when it cannot be known before a layer below is rebuilt
  bool hit = false;
  bool unknown = false; // the step needs a secret that cannot be read here
  std::string why;      // for a miss, or what is unknown
};

Expected<std::vector<LayerExplanation>> explain(const spec::Definition& definition,
                                                const BuildOptions& options);

// The time a bake clamps file times to (SOURCE_DATE_EPOCH).
//
// Given (--source-date-epoch, or SOURCE_DATE_EPOCH in the environment), it is used as it is.
// Otherwise an image takes the epoch of its base layer: the commit time of the definition in git
// (else the file's modification time) when the base layer was built, read back from the cache
// when it is reused. So a new commit that reuses the base exports every unchanged file with the
// same time, and its version shares those bytes with the last one; two clean bakes of one
// commit still give the same bytes.
struct SourceDateEpoch {
  int64_t seconds = 0;
  bool given = false; // by the flag or the environment: the base layer's does not replace it
};
Expected<SourceDateEpoch> source_date_epoch_of(const spec::Definition& definition,
                                               std::optional<int64_t> flag);

// KILN_CACHE_DIR, else /var/cache/kiln for root, else ~/.cache/kiln.
std::filesystem::path default_cache_dir();

} // namespace kiln::bake
