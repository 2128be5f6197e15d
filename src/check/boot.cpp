#include "check/boot.hpp"

#include "util/strings.hpp"
#include "vm/machine.hpp"

#include <chrono>
#include <cstdio>

namespace kiln::check {

namespace fs = std::filesystem;

namespace {

std::string unit_name(const std::string& subject)
{
  return subject.find('.') == std::string::npos ? subject + ".service" : subject;
}

CommandRun to_command_run(const vm::RemoteRun& run)
{
  return {run.exit_code, run.timed_out, run.stdout_text, run.stderr_text};
}

// What `command` printed, or an error if SSH itself failed.
Expected<std::string> ask(const vm::SshTransport& ssh, const std::string& command)
{
  auto ran = ssh.run(command, "", 30);
  if (!ran)
    return std::move(ran).error();
  if (ran->exit_code == 255)
    return make_error(ExitCode::build_failed,
                      "SSH to the machine failed: " + util::trim_copy(ran->stderr_text));
  return util::trim_copy(ran->stdout_text);
}

Expected<TestResult> check_booted(const spec::ImageTest& test, const vm::Machine& machine)
{
  TestResult result{test.name, test.kind, kBootStep, false, "", "", 0};
  auto start = std::chrono::steady_clock::now();
  const auto& ssh = machine.ssh();
  auto judge = [&](bool passed, std::string expected, std::string actual) {
    result.passed = passed;
    result.expected = std::move(expected);
    result.actual = std::move(actual);
  };
  if (test.kind == "command") {
    auto ran = ssh.run(test.subject, test.user, test.timeout);
    if (!ran)
      return std::move(ran).error();
    Outcome outcome = judge_command(test, to_command_run(*ran));
    judge(outcome.passed, outcome.expected, outcome.actual);
  } else if (test.kind == "service") {
    std::string unit = unit_name(test.subject);
    auto enabled = ask(ssh, "systemctl is-enabled " + util::shell_quote(unit) + " || true");
    if (!enabled)
      return std::move(enabled).error();
    std::string state = *enabled;
    bool ok = *enabled == "enabled";
    if (ok && test.active) {
      auto active = ask(ssh, "systemctl is-active " + util::shell_quote(unit) + " || true");
      if (!active)
        return std::move(active).error();
      state += ", " + *active;
      ok = *active == "active";
    }
    judge(ok, unit + (test.active ? " enabled, active" : " enabled"), state);
  } else if (test.kind == "port") {
    auto listening = ask(ssh, "ss -Hltn 'sport = :" + test.subject + "'");
    if (!listening)
      return std::move(listening).error();
    judge(!listening->empty(), "a TCP listener on port " + test.subject,
          listening->empty() ? "nothing listening" : util::trim_copy(*listening));
  } else if (test.kind == "boot_time") {
    double limit = std::stod(test.subject);
    char text[64];
    std::snprintf(text, sizeof text, "%.1f s", machine.ready_seconds());
    judge(machine.ready_seconds() <= limit,
          "ready within " + std::to_string(static_cast<int>(limit)) + " s", text);
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

} // namespace

std::vector<spec::ImageTest> boot_tests(const TestPlan& plan)
{
  std::vector<spec::ImageTest> tests;
  for (const auto& planned : plan) {
    const auto& kind = planned.test.kind;
    if (planned.step.empty() &&
        (kind == "command" || kind == "service" || kind == "port" || kind == "boot_time"))
      tests.push_back(planned.test);
  }
  return tests;
}

Expected<std::vector<TestResult>> run_boot_tests(const std::vector<spec::ImageTest>& tests,
                                                 const BootTestOptions& options,
                                                 util::ProcessObserver& log)
{
  vm::MachineOptions machine_options;
  machine_options.disk = options.disk;
  machine_options.format = options.format;
  machine_options.work = vm::machine_dir(options.scratch);
  machine_options.console_log = options.console_log;
  machine_options.kvm = options.kvm;
  machine_options.ready_timeout = options.timeout;
  log.on_line("booting " + options.disk.string() + " (" + (options.kvm ? "KVM" : "TCG") +
              "), serial console in " + options.console_log.string());
  auto machine = vm::Machine::boot(machine_options);
  if (!machine)
    return std::move(machine).error();
  char ready[64];
  std::snprintf(ready, sizeof ready, "ready after %.1f s", (*machine)->ready_seconds());
  log.on_line(ready);
  std::vector<TestResult> results;
  for (const auto& test : tests) {
    auto result = check_booted(test, **machine);
    if (!result)
      return std::move(result).error();
    record(log, *result);
    results.push_back(std::move(*result));
  }
  KILN_TRY((*machine)->power_off());
  log.on_line("powered off");
  return results;
}

} // namespace kiln::check
