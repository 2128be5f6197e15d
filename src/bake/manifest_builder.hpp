// Assembling manifest.json's content from what a build used and made.
#pragma once

#include "bake/export.hpp"
#include "bake/inputs.hpp"
#include "image/manifest.hpp"
#include "spec/definition.hpp"

#include <cstdint>

namespace kiln::bake {

// A bootstrapped base as manifest.json (and the provenance) records it.
nlohmann::json describe_bootstrap(const spec::Bootstrap& bootstrap);

image::Manifest build_manifest(const spec::Definition& definition, const Inputs& inputs,
                               const ExportResult& exported, int64_t source_date_epoch);

} // namespace kiln::bake
