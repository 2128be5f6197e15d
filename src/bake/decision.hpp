// Whether a layer can come from the cache, and why not: shared by the build and by
// `kiln build --explain` (explain, defined here).
#pragma once

#include "bake/layer_cache.hpp"
#include "bake/options.hpp"
#include "bake/plan.hpp"
#include "bake/remote_cache.hpp"
#include "spec/definition.hpp"
#include "util/error.hpp"

#include <optional>
#include <string>
#include <vector>

namespace kiln::bake {

// The index of the first layer --refresh rebuilds (layer 0 is the base), or none.
Expected<std::optional<size_t>> refresh_from(const spec::Definition& def, const BuildOptions& o);

// The index of the first layer whose key holds a secret's HMAC made with this machine's own key
// (no cache.secret_key is set): it and the layers above it are not shared. SIZE_MAX: none.
size_t first_private_layer(const spec::Definition& def, const SharedCacheOptions& shared);

// The key secrets are HMAC'd with: the shared one (cache.secret_key), else the cache's own.
Expected<std::string> secrets_key(LayerCache& cache, const SharedCacheOptions& shared);

struct Decision {
  std::string key;
  std::optional<LayerMeta> layer;           // set on a local hit
  std::optional<store::SharedLayer> remote; // set when the shared cache has it (no local hit)
  std::string why;                          // set on a local miss
  std::string remote_problem;               // the shared cache's entry could not be used
};

// Where the layers may come from besides the local cache.
struct Sources {
  RemoteCache* remote = nullptr; // with reads(): look there after a local miss
  size_t first_private = SIZE_MAX;
};

// Looks layer `index` up on top of a parent with `parent` digest, honouring --refresh and the
// maximum age of expiring layers: in the local cache, then in the shared one.
Decision decide(LayerCache& cache, const Sources& sources, const LayerSpec& spec, size_t index,
                const std::string& parent, const std::string& image, std::optional<size_t> refresh,
                int64_t max_age);

// What `kiln build --explain` reports for one layer, without building anything.
struct LayerExplanation {
  std::string step;
  std::string kind;
  std::string key; // "" when it cannot be known before a layer below is rebuilt
  bool hit = false;
  bool remote = false;  // the shared cache has it
  bool unknown = false; // the step needs a secret that cannot be read here
  std::string why;      // for a miss, or what is unknown
};

Expected<std::vector<LayerExplanation>> explain(const spec::Definition& definition,
                                                const BuildOptions& options);

} // namespace kiln::bake
