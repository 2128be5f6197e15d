// Whether a layer can come from the cache, and why not: shared by the build and by
// `kiln build --explain` (explain, defined here).
#pragma once

#include "bake/layer_cache.hpp"
#include "bake/options.hpp"
#include "bake/plan.hpp"
#include "spec/definition.hpp"
#include "util/error.hpp"

#include <optional>
#include <string>
#include <vector>

namespace kiln::bake {

// The index of the first layer --refresh rebuilds (layer 0 is the base), or none.
Expected<std::optional<size_t>> refresh_from(const spec::Definition& def, const BuildOptions& o);

struct Decision {
  std::string key;
  std::optional<LayerMeta> layer; // set on a hit
  std::string why;                // set on a miss
};

// Looks layer `index` up on top of a parent with `parent` digest, honouring --refresh and the
// maximum age of expiring layers.
Decision decide(LayerCache& cache, const LayerSpec& spec, size_t index, const std::string& parent,
                const std::string& image, std::optional<size_t> refresh, int64_t max_age);

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

} // namespace kiln::bake
