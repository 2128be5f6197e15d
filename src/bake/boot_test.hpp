// The boot test of a bake (`- boot: true` in the definition's tests): OUT's disk booted and the
// definition's tests run in it (check/boot). Passing results are kept beside the cached export,
// keyed by the tests, so a rebuild with no change does not boot again.
#pragma once

#include "bake/step_log.hpp"
#include "check/runner.hpp"
#include "spec/definition.hpp"
#include "util/error.hpp"

#include <filesystem>
#include <vector>

namespace kiln::bake {

// `export_dir` is the export's folder in the cache; `scratch` an empty folder of the build's.
// Failed tests are results, not errors; an error means the machine could not be tested.
Expected<std::vector<check::TestResult>> boot_test_image(const spec::Definition& definition,
                                                         const std::filesystem::path& out_dir,
                                                         const std::filesystem::path& export_dir,
                                                         const std::filesystem::path& scratch,
                                                         StepLog& log);

} // namespace kiln::bake
