// The boot test: the definition's tests run again inside the image's disk, booted in a local
// machine (vm/machine) and reached over SSH. Commands, services (enabled, and active with
// `active: true`), listening ports and the boot time are checked there; the kinds that read files
// (file, package, user, group) were checked on the tree and are not repeated. Results carry the
// step "boot", so junit.xml and the report show them apart.
#pragma once

#include "check/record.hpp"
#include "util/error.hpp"
#include "util/process.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace kiln::check {

inline constexpr const char* kBootStep = "boot";

struct BootTestOptions {
  std::filesystem::path disk;        // OUT's raw or qcow2 disk, never written
  std::string format;                // "raw" or "qcow2"
  std::filesystem::path scratch;     // the machine's folder goes below it
  std::filesystem::path console_log; // kept: OUT/logs/boot-console.log
  bool kvm = false;
  double timeout = 600; // seconds until the ready signal
};

// The tests of `plan` a booted machine checks (the definition's own, not the steps').
std::vector<spec::ImageTest> boot_tests(const TestPlan& plan);

// Boots the disk, runs the tests, powers the machine off. An error (no ready signal, SSH refused)
// shows the console's last lines; the machine is stopped and its files removed in every case.
Expected<std::vector<TestResult>> run_boot_tests(const std::vector<spec::ImageTest>& tests,
                                                 const BootTestOptions& options,
                                                 util::ProcessObserver& log);

} // namespace kiln::check
