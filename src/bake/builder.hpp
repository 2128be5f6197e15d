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
  std::optional<int64_t> source_date_epoch; // default: see base_epoch_of
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
// Otherwise an image takes the epoch of its base layer, kept in the layer's meta.json. A base
// layer built now takes base_epoch_of: the time of the oldest commit, in the run of commits up to
// HEAD, whose `base:` is the one the definition has now (the commit that last changed the base),
// else the file's modification time outside git. So a new commit that does not touch the base
// exports every unchanged file with the same time, whether the base comes from the cache or is
// built again on an empty one, and its version shares those bytes with the last one; two clean
// bakes of one commit still give the same bytes.
Expected<std::optional<int64_t>> given_source_date_epoch(std::optional<int64_t> flag);
inline constexpr size_t kMaxBaseHistory = 500; // commits of the definition looked at
int64_t base_epoch_of(const spec::Definition& definition);

// KILN_CACHE_DIR, else /var/cache/kiln for root, else ~/.cache/kiln.
std::filesystem::path default_cache_dir();

} // namespace kiln::bake
