#include "bake/builder.hpp"
#include "bake/cache_layout.hpp"
#include "bake/layer_cache.hpp"
#include "check/boot.hpp"
#include "check/test_output.hpp"
#include "cli/commands.hpp"
#include "image/out_dir.hpp"
#include "spec/loader.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <cstdio>
#include <unistd.h>

namespace kiln::cli {

namespace {

struct TestCliOptions {
  std::string out;
  std::string definition;
  std::string cache_dir;
  std::string results_dir;
  bool record = false;
  bool json = false;
  bool boot = false;
  bool kvm = false;
  std::string boot_timeout = "10m";
};

// The boot test: OUT's disk booted, the definition's tests run in it over SSH. The serial
// console is kept in OUT/logs only when the boot fails, so that a passing run leaves OUT as built.
Expected<std::vector<check::TestResult>> boot_test(const TestCliOptions& options,
                                                   const std::filesystem::path& out,
                                                   const check::TestPlan& plan,
                                                   const std::filesystem::path& cache_dir,
                                                   util::ProcessObserver& lines)
{
  auto timeout = util::parse_duration(options.boot_timeout);
  if (!timeout || *timeout <= 0)
    return make_error(ExitCode::usage,
                      "--boot-timeout '" + options.boot_timeout + "' is not a duration",
                      "write e.g. 300s or 10m");
  check::BootTestOptions boot;
  auto disk = check::verified_disk(out, boot.format);
  if (!disk)
    return std::move(disk).error();
  boot.disk = *disk;
  // Opening the cache removes what killed runs left in it (their machines' folders too).
  auto cache = bake::LayerCache::open(cache_dir);
  if (!cache)
    return std::move(cache).error();
  boot.scratch = bake::cache::scratch(cache_dir, "boot");
  boot.console_log = boot.scratch / "console.log";
  boot.kvm = options.kvm;
  boot.timeout = static_cast<double>(*timeout);
  KILN_TRY(util::make_dirs(boot.scratch));
  auto results = check::run_boot_tests(check::boot_tests(plan), boot, lines);
  if (!results) {
    Error error = results.error();
    std::filesystem::path kept = image::out::at(out, image::out::kLogs) / "boot-console.log";
    std::error_code ec;
    std::filesystem::create_directories(kept.parent_path(), ec);
    if (!std::filesystem::exists(boot.console_log)) // the firmware had not written yet
      (void)util::write_file_atomic(boot.console_log, "");
    std::filesystem::copy_file(boot.console_log, kept,
                               std::filesystem::copy_options::overwrite_existing, ec);
    if (!ec)
      error.hint = "the whole serial console is in " + kept.string();
    (void)util::remove_tree(boot.scratch);
    return error;
  }
  (void)util::remove_tree(boot.scratch);
  return results;
}

int run_test(const TestCliOptions& options)
{
  if (::geteuid() != 0)
    return report(
        make_error(ExitCode::environment, "kiln test needs root",
                   "run it as root (sudo kiln test ...): it mounts the image in a sandbox"));
  std::filesystem::path out = std::filesystem::absolute(options.out);
  if (!std::filesystem::is_directory(out))
    return report(make_error(ExitCode::input, out.string() + " is not a folder",
                             "give the output folder of a kiln build (kiln build --out DIR)"));
  auto settings = load_settings({{"cache.dir", options.cache_dir, "--cache-dir"}});
  if (!settings)
    return report(settings.error());
  Expected<check::TestPlan> plan = check::TestPlan{};
  if (!options.definition.empty()) {
    auto loaded = spec::load_definition(options.definition, {settings->catalog});
    if (!loaded.definition) {
      report(loaded.diagnostics);
      std::fprintf(stderr, "kiln: error: %s is not %s; no test was run\n",
                   options.definition.c_str(), loaded.unreadable ? "readable" : "valid");
      return loaded.exit_code();
    }
    plan = check::plan_of(*loaded.definition);
  } else {
    plan = check::recorded_plan(out);
  }
  if (!plan)
    return report(plan.error());
  if (plan->empty()) {
    std::fprintf(stderr, "kiln: the definition has no tests; nothing to run\n");
    return 0;
  }
  StderrLines lines;
  auto run =
      check::test_output(out, *plan, bake::cache::scratch(settings->cache_dir, "test"), lines);
  if (!run)
    return report(run.error());
  if (options.boot) {
    auto booted = boot_test(options, out, *plan, settings->cache_dir, lines);
    if (!booted)
      return report(booted.error());
    run->results.insert(run->results.end(), booted->begin(), booted->end());
  }
  const auto& results = run->results;
  if (results.empty())
    return report(
        make_error(ExitCode::build_failed, "no test ran, though the definition has tests"));
  // Where the results go: --results DIR, and OUT/tests only when asked (--record), so that a
  // finished image stays as it was built and published.
  std::vector<std::filesystem::path> written;
  if (!options.results_dir.empty())
    written.push_back(std::filesystem::absolute(options.results_dir));
  if (options.record)
    written.push_back(image::out::at(out, image::out::kTests));
  for (const auto& dir : written) {
    if (auto done = check::write_test_outputs(dir, run->suite, *plan, results); !done)
      return report(done.error());
  }
  if (options.json)
    std::printf("%s\n", check::results_to_json(results).dump(2).c_str());
  std::string summary = check::summarize(results);
  bool failed = summary.find(" failed: ") != std::string::npos;
  FILE* to = failed || options.json ? stderr : stdout;
  std::fprintf(to, "%s%s\n", failed ? "kiln: error: " : "", summary.c_str());
  for (const auto& dir : written)
    std::fprintf(to, "  junit  %s\n", image::out::at(dir, image::out::kJunit).c_str());
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
  sub->add_option("--results", options->results_dir,
                  "Write tests.json, results.json and junit.xml into this folder");
  sub->add_flag("--record", options->record,
                "Replace the results (and, with --definition, the tests) recorded in OUT/tests; "
                "OUT then differs from the image as built");
  sub->add_flag("--json", options->json, "Print the results as JSON on stdout");
  sub->add_flag("--boot", options->boot,
                "Also boot OUT's disk (raw or qcow2) in QEMU with UEFI and run the definition's "
                "tests in it over SSH");
  sub->add_flag("--kvm", options->kvm, "Boot with KVM instead of TCG (where KVM works)");
  sub->add_option("--boot-timeout", options->boot_timeout,
                  "The longest wait for the booted machine's ready signal (default 10m)");
  sub->footer(R"(Unpacks OUT/rootfs.tar.zst (checked against OUT/manifest.json), mounts it
read-only and runs the tests recorded at bake time in OUT/tests/tests.json, or those of
--definition. OUT is not changed unless --record is given: the results go to stdout, and
with --results DIR to DIR/results.json and DIR/junit.xml (JUnit, as Azure Pipelines'
PublishTestResults task reads it). Exit code 0 when every test passes, 1 when one fails
(named with what it expected and what it got).

With --boot, OUT's disk is also booted (qemu-system-x86_64, OVMF, TCG unless --kvm) on a
copy-on-write overlay, with a NoCloud seed that gives it a one-time SSH key. Once the guest
signals ready on its serial console, the definition's command, service, port and boot_time
tests run in it over SSH (file, package, user and group tests were checked on the tree), and
the machine is powered off. Nothing is left behind: no qemu, overlay or key. When the boot
fails, the console's last lines are shown and the whole of it is kept in OUT/logs.

Examples:
  sudo kiln test out/linux-agent
  sudo kiln test out/linux-agent --results test-results
  sudo kiln test out/linux-agent --boot --results test-results
  sudo kiln test out/linux-agent --definition examples/linux-agent/image.yaml
  sudo kiln test out/linux-agent --json | jq '.tests[] | select(.passed | not)')");
  return {sub, [options] { return run_test(*options); }};
}

} // namespace kiln::cli
