// Carrying out `kiln ci`'s decision: each image built and tested with `kiln build`, published
// with `kiln publish` and its channel moved with `kiln promote` (the same binary, so every rule
// and check of those commands holds), and the outcome of each, for the summary.
#pragma once

#include "ci/plan.hpp"

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace kiln::ci {

struct RunOptions {
  std::filesystem::path kiln;     // the binary that builds, publishes and promotes
  std::filesystem::path out_root; // each image is built into OUT_ROOT/NAME
  bool dry_run = false;
  std::vector<std::string> store_args;          // --store LOCATION, when kiln ci was given one
  std::function<void(const std::string&)> line; // a line of progress or of a command's output
};

struct ImageOutcome {
  std::string name;
  std::string result; // published, built, unchanged, skipped, refused, invalid, failed, planned
  std::string version, channel;
  std::string detail; // why, or what failed
  std::string bump;   // for a refused release: the bump semver suggests, with its reason
  std::filesystem::path out;
  int exit_code = 0; // besides what `result` says: 6 when a channel did not move
};

struct Summary {
  std::vector<ImageOutcome> images;
  int exit_code = 0; // the first failure's: 1 a build failed, 3 invalid, 6 refused
};

Summary carry_out(const Decision& decision, const RunOptions& options);

// The summary as JSON: the decision and each image's outcome.
nlohmann::json to_json(const Decision& decision, const Summary& summary);

// The pipeline's own outputs: Azure Pipelines' logging commands, GitHub Actions' step outputs
// (KEY=VALUE lines for $GITHUB_OUTPUT) and the job summary (Markdown for $GITHUB_STEP_SUMMARY).
std::vector<std::string> azure_variables(const Summary& summary);
std::vector<std::string> github_outputs(const Summary& summary);
std::string markdown_summary(const Decision& decision, const Summary& summary);

} // namespace kiln::ci
