#include "check/runner.hpp"

#include "check/checks.hpp"
#include "sandbox/child_report.hpp"
#include "util/fs.hpp"

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace kiln::check {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

constexpr const char* kOutputDir = "/run/kiln/test";

} // namespace

void record(util::ProcessObserver& log, const TestResult& result)
{
  std::string line = (result.passed ? "PASS " : "FAIL ") + result.name;
  if (!result.passed)
    line += ": expected " + result.expected + ", got " + result.actual;
  log.on_line(line);
}

namespace {

// Every non-command test, in one process chrooted into the tree.
Status check_tree(const std::vector<const spec::ImageTest*>& tests, const sandbox::RunOptions& tree,
                  std::vector<TestResult*> results, util::ProcessObserver& log)
{
  if (tests.empty())
    return ok_status();
  auto report = sandbox::ChildReport::open();
  if (!report)
    return std::move(report).error();
  auto ended = sandbox::run_code_in_tree(
      tree,
      [&tests, &report] {
        json outcomes = json::array();
        for (const auto* test : tests) {
          auto start = Clock::now();
          Outcome outcome = check_in_tree(*test, "/");
          double seconds = std::chrono::duration<double>(Clock::now() - start).count();
          outcomes.push_back({{"passed", outcome.passed},
                              {"expected", outcome.expected},
                              {"actual", outcome.actual},
                              {"seconds", seconds}});
        }
        return report->send(outcomes);
      },
      &log);
  auto received = report->receive(ended, "checking the image tree");
  if (!received)
    return std::move(received).error();
  if (!received->is_array() || received->size() != tests.size())
    return make_error(ExitCode::build_failed,
                      "checking the image tree gave " + std::to_string(received->size()) +
                          " results for " + std::to_string(tests.size()) + " tests");
  for (size_t i = 0; i < tests.size(); ++i) {
    const json& line = (*received)[i];
    results[i]->passed = line.value("passed", false);
    results[i]->expected = line.value("expected", "");
    results[i]->actual = line.value("actual", "");
    results[i]->seconds = line.value("seconds", 0.0);
  }
  return ok_status();
}

// One command test, judged.
Status run_command_test(const spec::ImageTest& test, const sandbox::RunOptions& tree,
                        const fs::path& folder, TestResult& result, util::ProcessObserver& log)
{
  auto start = Clock::now();
  auto outcome = run_captured(test.subject, test.user, test.timeout, tree, folder, log);
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (!outcome)
    return std::move(outcome).error();
  Outcome verdict = judge_command(test, *outcome);
  result.passed = verdict.passed;
  result.expected = verdict.expected;
  result.actual = verdict.actual;
  return ok_status();
}

} // namespace

Expected<CommandRun> run_captured(const std::string& command, const std::string& user,
                                  double timeout, const sandbox::RunOptions& tree,
                                  const fs::path& folder, util::ProcessObserver& log)
{
  KILN_TRY(util::make_dirs(folder));
  sandbox::RunOptions options = tree;
  options.argv = {"/bin/sh", "-c", "out=$1; shift; exec \"$@\" >\"$out/stdout\" 2>\"$out/stderr\"",
                  "kiln-test", kOutputDir};
  if (!user.empty())
    options.argv.insert(options.argv.end(), {"runuser", "-u", user, "--"});
  options.argv.insert(options.argv.end(), {"/bin/sh", "-c", command});
  options.env = sandbox::base_environment();
  options.binds.push_back({folder, kOutputDir, true});
  options.timeout_seconds = timeout;
  auto run = sandbox::run_in_tree(options, &log);
  if (!run)
    return std::move(run).error();
  if (run->interrupted_by != 0)
    return make_error(ExitCode::interrupted, "interrupted while running: " + command);
  CommandRun outcome;
  outcome.timed_out = run->timed_out;
  outcome.exit_code = run->term_signal ? 128 + run->term_signal : run->exit_code;
  for (auto [name, text] :
       {std::pair{"stdout", &outcome.stdout_text}, {"stderr", &outcome.stderr_text}}) {
    auto content = util::read_file(folder / name);
    *text = content ? *content : "";
  }
  return outcome;
}

Expected<std::vector<TestResult>> run_tests(const std::vector<spec::ImageTest>& all,
                                            const std::string& step,
                                            const sandbox::RunOptions& tree,
                                            const fs::path& scratch, util::ProcessObserver& log)
{
  std::vector<spec::ImageTest> tests; // a tree cannot answer what needs a booted machine
  for (const auto& test : all) {
    if (!spec::needs_running_system(test))
      tests.push_back(test);
  }
  std::vector<TestResult> results(tests.size());
  std::vector<const spec::ImageTest*> in_tree;
  std::vector<TestResult*> in_tree_results;
  for (size_t i = 0; i < tests.size(); ++i) {
    results[i].name = tests[i].name;
    results[i].kind = tests[i].kind;
    results[i].step = step;
    if (tests[i].kind == "command") {
      KILN_TRY(run_command_test(tests[i], tree, scratch / ("command-" + std::to_string(i)),
                                results[i], log));
    } else {
      in_tree.push_back(&tests[i]);
      in_tree_results.push_back(&results[i]);
    }
  }
  KILN_TRY(check_tree(in_tree, tree, in_tree_results, log));
  for (const auto& result : results)
    record(log, result);
  return results;
}

std::string summarize(const std::vector<TestResult>& results)
{
  std::vector<const TestResult*> failed;
  for (const auto& result : results) {
    if (!result.passed)
      failed.push_back(&result);
  }
  std::string text = std::to_string(results.size()) + (results.size() == 1 ? " test" : " tests");
  if (failed.empty())
    return text + ", all passed";
  text += ", " + std::to_string(failed.size()) + " failed: ";
  for (size_t i = 0; i < failed.size(); ++i) {
    text += (i ? "; '" : "'") + failed[i]->name + "' (expected " + failed[i]->expected + ", got " +
            failed[i]->actual + ")";
  }
  return text;
}

} // namespace kiln::check
