#include "bake/boot_test.hpp"
#include "bake/builder_impl.hpp"
#include "bake/exporters/registry.hpp"
#include "bake/kept.hpp"
#include "bake/manifest_builder.hpp"
#include "check/runner.hpp"
#include "util/fs.hpp"

#include <algorithm>
#include <ctime>

namespace kiln::bake {

namespace fs = std::filesystem;

// --on-error=abort: the layers the failure happened on (and the failed step's own changes)
// stay for `kiln shell OUT`.
Error Build::keep_failed_tree(Error error)
{
  if (layers_.empty() && !kept_machine_) {
    error.hint += std::string(error.hint.empty() ? "" : "; ") +
                  "no tree was kept: the base layer did not finish";
    return error;
  }
  KeptTree kept;
  for (auto it = layers_.rbegin(); it != layers_.rend(); ++it)
    kept.layers.push_back(it->key);
  kept.has_changes = kept_changes_;
  kept.machine = kept_machine_;
  kept.step = failed_phase_;
  kept.error = error.message;
  kept.cache_dir = cache_.dir().string();
  kept.created = static_cast<int64_t>(std::time(nullptr));
  if (Status written = write_kept(out_, kept); !written)
    return error;
  std::string what = kept_machine_   ? "the machine's disk, as the failed step left it,"
                     : kept_changes_ ? "the tree of the failed step (with its changes so far)"
                     : secret_in_changes_
                         ? "the failed step's changes held a secret's value and were discarded; "
                           "the tree below that step"
                         : "the tree the failure happened on";
  error.hint += std::string(error.hint.empty() ? "" : "; ") + what + " is kept: kiln shell " +
                out_.string() + (kept_machine_ ? " boots it" : " opens a shell in it") +
                "; the next build into that folder discards it";
  return error;
}

Status Build::export_phases()
{
  // The export is the last phase but for the boot test.
  int count = static_cast<int>(phases_.size()) - (def_.boot_test ? 1 : 0);
  auto exporters = exporters_for(def_);
  if (!exporters)
    return std::move(exporters).error();
  std::string key = export_key(layers_.back().digest, epoch_, export_key_parts(*exporters));
  export_key_ = key;
  std::optional<ExportResult> exported;
  KILN_TRY(phase(count - 1, [&](StepLog& log) -> Status {
    exported = find_export(cache_, key, log);
    if (exported) {
      cached_phase_ = true;
      return ok_status();
    }
    sandbox::Overlay overlay = stack();
    overlay.upper = (scratch_ / "generalized").string();
    overlay.work = (scratch_ / "generalize-work").string();
    KILN_TRY(util::make_dirs(overlay.upper));
    KILN_TRY(util::make_dirs(overlay.work));
    return generalize_layers(overlay, scratch_ / "merged", log);
  }));
  return phase(count, [&](StepLog& log) -> Status {
    if (!exported) {
      sandbox::Overlay overlay = stack();
      overlay.lower.insert(overlay.lower.begin(), (scratch_ / "generalized").string());
      ExportJob job{&*exporters, epoch_, {&secrets_.redactor, nullptr}};
      if (!def_.requirements.security.baseline.empty())
        job.checks.security = &def_.requirements.security;
      auto made = export_layers(cache_, key, overlay, scratch_ / "merged", job, log);
      if (!made)
        return std::move(made).error();
      exported = std::move(*made);
    } else {
      cached_phase_ = true;
    }
    KILN_TRY(copy_export(cache_, key, *exported, out_));
    exported_ = *exported;
    manifest_ = build_manifest(def_, inputs_, *exported, epoch_);
    debs_.add_digests(manifest_.packages);
    if (!test_results_.empty())
      manifest_.tests = {{"total", test_results_.size()}, {"failed", 0}};
    manifest_.tools = tools_;
    std::string manifest = image::to_json(manifest_).dump(2) + "\n";
    if (auto name = secrets_.redactor.find_in(manifest))
      return make_error(ExitCode::build_failed, "secret '" + *name + "' reached the manifest");
    KILN_TRY(check_logs(secrets_, image::out::at(out_, image::out::kLogs)));
    KILN_TRY(write_all_reports(*exported));
    return util::write_file_atomic(image::out::at(out_, image::out::kManifest), manifest);
  });
}

// Adds results to the build's, and writes them all into OUT/tests.
Status Build::add_test_results(const std::vector<check::TestResult>& results)
{
  test_results_.insert(test_results_.end(), results.begin(), results.end());
  return check::write_test_outputs(image::out::at(out_, image::out::kTests),
                                   def_.name + " " + def_.version, check::plan_of(def_),
                                   test_results_);
}

// After the export: the disk booted and the definition's tests run in it; the results join
// the others in OUT/tests, the manifest and the report.
Status Build::boot_phase(StepLog& log)
{
  auto results =
      boot_test_image(def_, out_, cache_.exports_dir() / export_key_, scratch_ / "boot", log);
  if (!results)
    return std::move(results).error();
  KILN_TRY(add_test_results(*results));
  size_t failed = static_cast<size_t>(std::count_if(
      results->begin(), results->end(), [](const check::TestResult& r) { return !r.passed; }));
  manifest_.tests = {{"total", test_results_.size()}, {"failed", failed}};
  KILN_TRY(write_all_reports(*exported_));
  KILN_TRY(util::write_file_atomic(image::out::at(out_, image::out::kManifest),
                                   image::to_json(manifest_).dump(2) + "\n"));
  if (failed > 0)
    return make_error(ExitCode::build_failed, "the booted disk " + check::summarize(*results));
  return ok_status();
}

// The reports beside the tar. The export phase is still running: its time so far counts.
Status Build::write_all_reports(const ExportResult& exported)
{
  nlohmann::json timings = timings_;
  timings.push_back(
      {{"name", "export"},
       {"kind", "export"},
       {"outcome", cached_phase_ ? "cached" : "built"},
       {"seconds", std::chrono::duration<double>(Clock::now() - phase_start_).count()}});
  ReportInputs inputs{manifest_, exported.unowned, test_results_,
                      timings,   earlier_,         "the previous build in this folder"};
  if (!earlier_ && inputs_.parent) {
    if (auto parent = report::read_image_facts(inputs_.parent->dir)) {
      inputs.earlier = std::move(*parent);
      inputs.earlier_label = "the parent image";
    }
  }
  return write_reports(out_, inputs);
}

} // namespace kiln::bake
