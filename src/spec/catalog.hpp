// The catalog of approved base images: the shipped entries plus the user's own file (the
// `catalog` setting: KILN_CATALOG, else /etc/kiln/catalog.yaml). A definition names one as
// `base: catalog:NAME`.
#pragma once

#include "spec/definition.hpp"
#include "util/error.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace kiln::spec {

struct CatalogEntry {
  std::string name;
  std::string description;
  Bootstrap bootstrap;
  std::string security_baseline; // applied as requirements.security when the image sets none
  std::string source;            // "built in" or the file it came from
};

// Every entry; the user's `file` (none when empty) may add entries and replace shipped ones by
// name.
Expected<std::vector<CatalogEntry>> catalog(const std::filesystem::path& file);

} // namespace kiln::spec
