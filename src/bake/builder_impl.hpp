// The Build class behind bake::build() (builder.hpp): its phases and what they share. Internal
// to bake/: builder.cpp runs the phases, resolves the inputs and obtains each layer;
// builder_export.cpp generalizes and exports, runs the boot test, writes the reports and keeps a
// failed tree for `kiln shell`.
#pragma once

#include "bake/builder.hpp"
#include "bake/deb_cache.hpp"
#include "bake/decision.hpp"
#include "bake/diagnose.hpp"
#include "bake/export.hpp"
#include "bake/inputs.hpp"
#include "bake/layer_cache.hpp"
#include "bake/plan.hpp"
#include "bake/remote_cache.hpp"
#include "bake/reports.hpp"
#include "bake/secrets.hpp"
#include "bake/step_log.hpp"
#include "check/record.hpp"
#include "image/out_dir.hpp"
#include "sandbox/run_options.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace kiln::bake {

class Build {
public:
  using Clock = std::chrono::steady_clock;

  Build(const spec::Definition& definition, const BuildOptions& options, BuildObserver& observer,
        LayerCache cache);

  ~Build();

  Expected<BuildResult> run();

private:
  struct PhaseName {
    std::string name;
    std::string kind;
  };

  Expected<BuildResult> run_phases();

  // --on-error=abort: the layers the failure happened on (and the failed step's own changes)
  // stay for `kiln shell OUT`.
  Error keep_failed_tree(Error error);

  Status prepare_out();

  // Runs one phase with its log; `body` returns the outcome, or an error.
  template <typename Body> Status phase(int number, Body&& body)
  {
    Phase current{number, static_cast<int>(phases_.size()), phases_[number - 1].name,
                  phases_[number - 1].kind};
    char prefix[16];
    std::snprintf(prefix, sizeof prefix, "%02d-", number);
    StepLog log(image::out::at(out_, image::out::kLogs) / (prefix + current.name + ".log"),
                observer_);
    log.set_redactor(&secrets_.redactor);
    observer_.phase_started(current);
    phase_start_ = Clock::now();
    why_.clear();
    cached_phase_ = false;
    Status status = body(log);
    double seconds = std::chrono::duration<double>(Clock::now() - phase_start_).count();
    Outcome outcome = !status ? Outcome::failed : cached_phase_ ? Outcome::cached : Outcome::built;
    observer_.phase_finished(current, outcome, seconds, why_);
    if (!status)
      failed_phase_ = current.name;
    const char* outcomes[] = {"built", "cached", "failed"};
    timings_.push_back({{"name", current.name},
                        {"kind", current.kind},
                        {"outcome", outcomes[static_cast<int>(outcome)]},
                        {"seconds", seconds}});
    if (status)
      return status;
    (void)check_logs(
        secrets_,
        image::out::at(out_, image::out::kLogs)); // a failed step's log may hold what it printed
    Error error = explain_failure(std::move(status).error(), current, log);
    for (std::string* text : {&error.message, &error.detail, &error.hint})
      *text = secrets_.redactor.apply(*text);
    return error;
  }

  Error explain_failure(Error error, const Phase& current, const StepLog& log);

  Status resolve(StepLog& log);

  // The stack of finished layers, topmost first, relative to the layers folder.
  sandbox::Overlay stack() const;

  // The layers built so far, read-only, where tests and report commands look at them.
  sandbox::RunOptions finished_tree() const;

  // Runs tests on the layers built so far, read-only; their results go to OUT/tests at once, so
  // that a pipeline can publish them even when one fails.
  Status run_image_tests(const std::vector<spec::ImageTest>& tests, const std::string& step,
                         StepLog& log);

  // The software report's tool versions, from the finished tree.
  Status collect_tools(StepLog& log);

  Status layer_phase(size_t index);

  // The layer behind phase `index`: from the cache, or built now.
  Status obtain_layer(size_t index, StepLog& log);

  Expected<LayerMeta> build_layer(size_t index, const std::string& key, StepLog& log);

  // Opens the shared cache the options name (none: nothing happens).
  Status open_shared_cache(StepLog& log);

  // The layer the shared cache holds for `index`, downloaded into the local cache.
  Expected<LayerMeta> fetch_layer(size_t index, const Decision& d, StepLog& log);

  // Offers a finished layer to the --cache-to store (uploaded in the background).
  void share(size_t index, const LayerMeta& layer);

  Status build_base(StepLog& log);

  // builder: vm: every step in the booted base disk, captured as one layer.
  Status build_vm(StepLog& log);

  // The base and requirements layers come before the steps'.
  size_t first_step_index() const { return first_step_layer(def_); }

  // The definition's step behind layer `index`, or null for kiln's own layers.
  const spec::Step* step_for(size_t index) const;

  // Runs a step (or, without one, kiln's requirements or boot layer) on the stack of layers built
  // so far.
  Status build_on_stack(const spec::Step* step, size_t index, StepLog& log);

  Status export_phases();

  // Adds results to the build's, and writes them all into OUT/tests.
  Status add_test_results(const std::vector<check::TestResult>& results);

  // After the export: the disk booted and the definition's tests run in it; the results join
  // the others in OUT/tests, the manifest and the report.
  Status boot_phase(StepLog& log);

  // The reports beside the tar. The export phase is still running: its time so far counts.
  Status write_all_reports(const ExportResult& exported);

  const spec::Definition& def_;
  const BuildOptions& options_;
  BuildObserver& observer_;
  LayerCache cache_;
  std::unique_ptr<RemoteCache> remote_; // the shared cache; goes before cache_'s locks
  Sources sources_;
  BuildResult shared_; // its counts
  DebCache debs_;
  std::filesystem::path out_;
  std::filesystem::path scratch_;
  std::vector<PhaseName> phases_;
  std::vector<LayerSpec> specs_;
  std::vector<LayerMeta> layers_;
  std::optional<PendingLayer> pending_;
  std::optional<size_t> refresh_;
  int lock_fd_ = -1;
  int64_t epoch_ = 0;
  bool epoch_given_ = false;
  int cached_ = 0;
  bool cached_phase_ = false;
  std::string why_;
  Inputs inputs_;
  Secrets secrets_;
  image::Manifest manifest_;
  std::vector<check::TestResult> test_results_;
  std::string export_key_;
  bool finished_ = false;
  bool kept_changes_ = false;
  bool kept_machine_ = false;      // builder: vm: the machine's disk was kept
  bool secret_in_changes_ = false; // the failed step's changes held a secret: not kept
  std::string failed_phase_;
  std::optional<ExportResult> exported_;
  std::vector<image::Tool> tools_;
  nlohmann::json timings_ = nlohmann::json::array();
  Clock::time_point phase_start_;
  std::optional<report::ImageFacts> earlier_;
};

} // namespace kiln::bake
