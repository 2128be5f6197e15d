// Generalize and export, on the merged view of the layers.
//
// The layers are only ever mounted inside a child process with a private mount namespace
// (sandbox::run_with_tree), so generalize writes into a throwaway upper folder and the cached
// layers are never changed. Each output (bake/exporters/) is written into CACHE/exports/KEY,
// keyed by the top layer's digest, the epoch and the exporters, so a rebuild with no change only
// copies the files.
#pragma once

#include "bake/exporters/exporter.hpp"
#include "bake/layer_cache.hpp"
#include "bake/step_log.hpp"
#include "image/dpkg.hpp"
#include "image/inventory.hpp"
#include "sandbox/sandbox.hpp"
#include "spec/definition.hpp"
#include "util/error.hpp"
#include "util/redact.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace kiln::bake {

struct ExportResult {
  std::vector<image::OutputFile> outputs; // one per exporter, in the registry's order
  std::vector<image::Package> packages;
  nlohmann::json security; // the audit's summary, or null without a baseline
  image::OsRelease os;
  std::vector<image::UserEntry> users;
  std::map<std::string, std::string> unowned; // files no package owns: path -> digest or link
};

// What the export checks besides writing the outputs.
struct ExportChecks {
  const util::Redactor* secrets = nullptr;  // values that must not be in the image
  const spec::Security* security = nullptr; // a baseline to audit, when the image has one
};

// What the export in `dir` (CACHE/exports/KEY) holds, unchecked.
Expected<ExportResult> read_export(const std::filesystem::path& dir);

// The cached export under KEY, after checking each output against its recorded sha256.
std::optional<ExportResult> find_export(LayerCache& cache, const std::string& key, StepLog& log);

// Generalizes the stack `layers` (its upper is the throwaway folder), mounted at `mount_point`.
Status generalize_layers(const sandbox::Overlay& layers, const std::filesystem::path& mount_point,
                         StepLog& log);

// What an export is made with.
struct ExportJob {
  const std::vector<std::unique_ptr<Exporter>>* exporters = nullptr;
  int64_t source_date_epoch = 0;
  ExportChecks checks;
};

// Writes the export of the (read-only) stack `layers` into CACHE/exports/KEY.
// Fails, naming the file, when a secret's value is found in the image.
Expected<ExportResult> export_layers(LayerCache& cache, const std::string& key,
                                     const sandbox::Overlay& layers,
                                     const std::filesystem::path& mount_point, const ExportJob& job,
                                     StepLog& log);

// Copies the export's outputs (and the audit report, when there is one) from CACHE/exports/KEY
// to OUT, each under a temporary name first.
Status copy_export(LayerCache& cache, const std::string& key, const ExportResult& exported,
                   const std::filesystem::path& out_dir);

} // namespace kiln::bake
