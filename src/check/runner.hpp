// Running tests against a tree: the command tests one by one inside it (each with its timeout,
// its stdout and stderr kept apart), the others together in one process chrooted into it. The
// tree is mounted read-only: tests never change it.
#pragma once

#include "check/checks.hpp"
#include "sandbox/sandbox.hpp"
#include "spec/definition.hpp"
#include "util/error.hpp"
#include "util/process.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace kiln::check {

struct TestResult {
  std::string name;
  std::string kind;
  std::string step; // the step that carries the test; "" for the definition's tests
  bool passed = false;
  std::string expected;
  std::string actual;
  double seconds = 0;
};

// `tree` says where the tree is (root, and the read-only overlay of its layers); `scratch` is an
// empty host folder the run may use. Each result is also written to `log` as PASS or FAIL. Tests
// that need a booted machine (spec::needs_running_system) are left out: check/boot runs them.
Expected<std::vector<TestResult>> run_tests(const std::vector<spec::ImageTest>& tests,
                                            const std::string& step,
                                            const sandbox::RunOptions& tree,
                                            const std::filesystem::path& scratch,
                                            util::ProcessObserver& log);

// Runs `command` with sh -c in the tree (as `user` through runuser when not empty), its stdout
// and stderr written apart into the host folder `folder`, stopped after `timeout` seconds.
Expected<CommandRun> run_captured(const std::string& command, const std::string& user,
                                  double timeout, const sandbox::RunOptions& tree,
                                  const std::filesystem::path& folder, util::ProcessObserver& log);

// Writes a result to `log` as "PASS name" or "FAIL name: expected ..., got ...".
void record(util::ProcessObserver& log, const TestResult& result);

// "3 tests, 1 failed: 'git works' (expected exit code 0, got exit code 127, output ...)".
std::string summarize(const std::vector<TestResult>& results);

} // namespace kiln::check
