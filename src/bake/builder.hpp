// A whole bake: inputs, bootstrap, steps, generalize, export, manifest.
//
// Outputs land in OUT only when everything succeeded: the tar is written under a temporary name
// and renamed, and manifest.json is written last, so a folder with a manifest is always complete.
// A failed or interrupted build leaves OUT/logs and nothing that looks like a finished image.
#pragma once

#include "bake/observer.hpp"
#include "image/manifest.hpp"
#include "spec/definition.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>

namespace kiln::bake {

struct BuildOptions {
  std::filesystem::path out_dir;
  std::filesystem::path cache_dir;
  std::optional<int64_t> source_date_epoch; // default: see resolve_source_date_epoch
};

struct BuildResult {
  std::filesystem::path out_dir;
  std::filesystem::path manifest_path;
  image::Manifest manifest;
  double seconds = 0;
};

Expected<BuildResult> build(const spec::Definition& definition, const BuildOptions& options,
                            BuildObserver& observer);

// SOURCE_DATE_EPOCH from the environment, else the commit time of the definition in git, else
// the definition's modification time.
int64_t resolve_source_date_epoch(const spec::Definition& definition);

// KILN_CACHE_DIR, else /var/cache/kiln for root, else ~/.cache/kiln.
std::filesystem::path default_cache_dir();

} // namespace kiln::bake
