// `kiln test OUT`: the tests of a built image run again on its rootfs, without rebuilding. The
// rootfs is checked against the manifest, unpacked into a scratch folder in the cache and mounted
// read-only. OUT is left as it was built unless the user asks to record the new results.
#pragma once

#include "check/record.hpp"
#include "util/error.hpp"
#include "util/process.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace kiln::check {

// The tests recorded in OUT at bake time (OUT/tests/tests.json).
Expected<TestPlan> recorded_plan(const std::filesystem::path& out_dir);

struct TestRun {
  std::string suite; // the image's name and version, e.g. "linux-agent 1.1.0"
  std::vector<TestResult> results;
};

// Runs `plan` against OUT/rootfs.tar.zst, unpacked in `scratch` (made, then removed); `log`
// receives progress and a PASS/FAIL line per test. Writes nothing in OUT: the caller decides
// where the results go (write_test_outputs).
Expected<TestRun> test_output(const std::filesystem::path& out_dir, const TestPlan& plan,
                              const std::filesystem::path& scratch, util::ProcessObserver& log);

// OUT's disk for a boot test, checked against the manifest: disk.raw, else disk.qcow2. Sets
// `format`.
Expected<std::filesystem::path> verified_disk(const std::filesystem::path& out_dir,
                                              std::string& format);

} // namespace kiln::check
