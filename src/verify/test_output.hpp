// `kiln test OUT`: the tests of a built image run again on its rootfs, without rebuilding. The
// rootfs is checked against the manifest, unpacked into a scratch folder in the cache and mounted
// read-only; the results replace OUT/tests/results.json and junit.xml.
#pragma once

#include "util/error.hpp"
#include "util/process.hpp"
#include "verify/record.hpp"

#include <filesystem>
#include <optional>
#include <vector>

namespace kiln::verify {

// The tests recorded in OUT at bake time (OUT/tests/tests.json).
Expected<TestPlan> recorded_plan(const std::filesystem::path& out_dir);

// Runs `plan` against OUT/rootfs.tar.zst; `log` receives progress and a PASS/FAIL line per test.
Expected<std::vector<TestResult>> test_output(const std::filesystem::path& out_dir,
                                              const TestPlan& plan,
                                              const std::filesystem::path& cache_dir,
                                              util::ProcessObserver& log);

} // namespace kiln::verify
