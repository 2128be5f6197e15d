// The reports a successful build writes into OUT beside the tar, before the manifest:
// sbom.cdx.json, software-report.json/.md, files.json, timings.json and report.html.
#pragma once

#include "check/runner.hpp"
#include "image/manifest.hpp"
#include "report/diff.hpp"
#include "util/error.hpp"

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace kiln::bake {

struct ReportInputs {
  const image::Manifest& manifest;
  const std::map<std::string, std::string>& unowned; // files no package owns
  const std::vector<check::TestResult>& tests;
  nlohmann::json timings; // [{name, kind, outcome, seconds}]
  // What report.html shows the changes against: the previous build in OUT, or the parent image.
  std::optional<report::ImageFacts> earlier;
  std::string earlier_label;
};

Status write_reports(const std::filesystem::path& out_dir, const ReportInputs& inputs);

} // namespace kiln::bake
