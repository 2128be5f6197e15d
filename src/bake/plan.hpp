// Cache keys, in the manner of BuildKit: a layer's key is the digest of the layer below it, the
// canonical form of its step (built from the parsed model, so YAML spelling, key order and
// comments do not matter, and a step's name does not either), the digest of every input it reads,
// and the cache format. A rebuilt parent therefore changes every key above it.
#pragma once

#include "bake/inputs.hpp"
#include "bake/layer_cache.hpp"
#include "spec/definition.hpp"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace kiln::bake {

struct LayerSpec {
  std::string step;      // "base" or the step's name
  std::string kind;      // "bootstrap" or the step's kind
  nlohmann::json inputs; // the canonical step and its input digests
  bool expires = false;  // base, package and ansible layers go stale after the maximum age
};

// The base layer first, then the requirements layer (when the definition has requirements),
// then one per step, then kiln's boot layer when an output is a disk (bake/boot_layer).
std::string machine(); // the build host's, as uname says: "x86_64"
std::vector<LayerSpec> layer_specs(const spec::Definition& definition, const Inputs& inputs);

// The index in layer_specs of the definition's first step.
size_t first_step_layer(const spec::Definition& definition);

// The key of a layer on top of a parent layer with `parent_digest` ("" for the base).
std::string layer_key(const LayerSpec& spec, const std::string& parent_digest);

// The inputs as recorded in the layer's meta.json: the spec's, plus the parent's digest.
nlohmann::json recorded_inputs(const LayerSpec& spec, const std::string& parent_digest);

// Why a layer must be built: "not built before", "files/setup.sh changed", "the layer below it
// changed", ... `previous` is the newest layer the same image built for the same step.
std::string explain_miss(const LayerSpec& spec, const std::string& parent_digest,
                         const std::optional<LayerMeta>& previous);

// The key of an export: the top layer's digest, the epoch file times are clamped to, and each
// output ("NAME:SETTINGS", see Exporter::key_part) in order.
std::string export_key(const std::string& top_digest, int64_t source_date_epoch,
                       const std::vector<std::string>& outputs);

} // namespace kiln::bake
