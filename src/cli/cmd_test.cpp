#include "bake/builder.hpp"
#include "cli/commands.hpp"
#include "spec/loader.hpp"
#include "verify/test_output.hpp"

#include <cstdio>
#include <unistd.h>

namespace kiln::cli {

namespace {

struct TestCliOptions {
  std::string out;
  std::string definition;
  std::string cache_dir;
  bool json = false;
};

// Progress and PASS/FAIL lines on stderr, so that --json keeps stdout to itself.
class TestLines : public util::ProcessObserver {
public:
  void on_line(std::string_view line) override
  {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
  }
};

int run_test(const TestCliOptions& options)
{
  if (::geteuid() != 0)
    return report(
        make_error(ExitCode::environment, "kiln test needs root",
                   "run it as root (sudo kiln test ...): it mounts the image in a sandbox"));
  std::filesystem::path out = std::filesystem::absolute(options.out);
  Expected<verify::TestPlan> plan = verify::TestPlan{};
  if (!options.definition.empty()) {
    auto loaded = spec::load_definition(options.definition);
    if (!loaded.definition) {
      report(loaded.diagnostics);
      std::fprintf(stderr, "kiln: error: %s is not valid; no test was run\n",
                   options.definition.c_str());
      return static_cast<int>(ExitCode::invalid_definition);
    }
    plan = verify::plan_of(*loaded.definition);
  } else {
    plan = verify::recorded_plan(out);
  }
  if (!plan)
    return report(plan.error());
  if (plan->empty()) {
    std::fprintf(stderr, "kiln: the definition has no tests; nothing to run\n");
    return 0;
  }
  auto cache_dir = options.cache_dir.empty() ? bake::default_cache_dir()
                                             : std::filesystem::path(options.cache_dir);
  TestLines lines;
  auto results = verify::test_output(out, *plan, cache_dir, lines);
  if (!results)
    return report(results.error());
  if (results->empty())
    return report(
        make_error(ExitCode::build_failed, "no test ran, though the definition has tests"));
  if (options.json)
    std::printf("%s\n", verify::results_to_json(*results).dump(2).c_str());
  std::string summary = verify::summarize(*results);
  bool failed = summary.find(" failed: ") != std::string::npos;
  std::fprintf(failed || options.json ? stderr : stdout, "%s%s\n  junit  %s\n",
               failed ? "kiln: error: " : "", summary.c_str(), (out / "tests/junit.xml").c_str());
  return failed ? static_cast<int>(ExitCode::build_failed) : 0;
}

} // namespace

Command add_test(CLI::App& app)
{
  auto options = std::make_shared<TestCliOptions>();
  auto* sub =
      app.add_subcommand("test", "Run an image's tests again, without rebuilding (needs root)");
  sub->add_option("out", options->out, "A built image's output folder")->required();
  sub->add_option(
      "--definition", options->definition,
      "Run this definition's tests (e.g. edited ones) instead of those recorded in OUT");
  sub->add_option("--cache-dir", options->cache_dir,
                  "Where to unpack the image (default: $KILN_CACHE_DIR or /var/cache/kiln)");
  sub->add_flag("--json", options->json, "Print the results as JSON on stdout");
  sub->footer(R"(Unpacks OUT/rootfs.tar.zst (checked against OUT/manifest.json), mounts it
read-only and runs the tests recorded at bake time in OUT/tests/tests.json, or those of
--definition. Writes OUT/tests/results.json and OUT/tests/junit.xml (JUnit, as Azure
Pipelines' PublishTestResults task reads it). Exit code 0 when every test passes, 1 when
one fails (named with what it expected and what it got).

Examples:
  sudo kiln test out/linux-agent
  sudo kiln test out/linux-agent --definition examples/linux-agent/image.yaml
  sudo kiln test out/linux-agent --json | jq '.tests[] | select(.passed | not)')");
  return {sub, [options] { return run_test(*options); }};
}

} // namespace kiln::cli
