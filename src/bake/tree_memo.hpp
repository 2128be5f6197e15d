// What kiln learns by running commands on a finished tree (test results, tool versions), kept by
// the tree and the exact question, as ccache's direct mode keeps a result by its inputs.
//
// A tree is named by the digest of its top layer, which (through the cache keys) stands for
// every layer below; the question is the canonical JSON of the tests or report commands asked.
// A rebuild with no change takes the answer instead of starting the sandbox again. Only answers
// worth keeping are remembered (all tests passed); `kiln test OUT` never uses them.
#pragma once

#include "bake/layer_cache.hpp"
#include "check/runner.hpp"
#include "image/manifest.hpp"
#include "sandbox/sandbox.hpp"
#include "spec/definition.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace kiln::bake {

std::optional<nlohmann::json> recall_answer(LayerCache& cache, const std::string& tree_digest,
                                            const nlohmann::json& question);

// Best effort: a failure to write only means asking again next time.
void remember_answer(LayerCache& cache, const std::string& tree_digest,
                     const nlohmann::json& question, const nlohmann::json& answer);

// The results of `tests` on the tree: remembered ones when they all passed on this tree before,
// else check::run_tests now. `log` says which.
Expected<std::vector<check::TestResult>>
tree_test_results(LayerCache& cache, const std::string& tree_digest,
                  const std::vector<spec::ImageTest>& tests, const std::string& step,
                  const sandbox::RunOptions& tree, const std::filesystem::path& scratch,
                  util::ProcessObserver& log);

// The software report's tool versions on the tree, remembered or asked now.
Expected<std::vector<image::Tool>>
tree_tool_versions(LayerCache& cache, const std::string& tree_digest,
                   const std::vector<spec::ReportCommand>& report, const sandbox::RunOptions& tree,
                   const std::filesystem::path& scratch, util::ProcessObserver& log);

} // namespace kiln::bake
