// OUT/report.html: one self-contained page (no script, no network) about a built image: its
// identity, the step timings as a bar chart, the test results, the software report, a summary of
// the SBOM, and the changes since the previous build in the folder or since the parent image.
#pragma once

#include "image/manifest.hpp"

#include <nlohmann/json.hpp>
#include <string>

namespace kiln::report {

struct PageInputs {
  const image::Manifest& manifest;
  nlohmann::json timings;   // [{name, kind, outcome, seconds}]
  nlohmann::json tests;     // tests/results.json, or null
  nlohmann::json sbom;      // the CycloneDX document
  nlohmann::json software;  // the software report
  nlohmann::json diff;      // diff_images(), or null
  std::string diff_against; // what the diff compares with, in words
};

std::string report_html(const PageInputs& inputs);

} // namespace kiln::report
