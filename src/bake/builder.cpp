#include "bake/builder.hpp"

#include "bake/boot_layer.hpp"
#include "bake/bootstrap.hpp"
#include "bake/builder_impl.hpp"
#include "bake/cache_layout.hpp"
#include "bake/deb_cache.hpp"
#include "bake/decision.hpp"
#include "bake/diagnose.hpp"
#include "bake/epoch.hpp"
#include "bake/exporters/registry.hpp"
#include "bake/inputs.hpp"
#include "bake/kept.hpp"
#include "bake/layer_cache.hpp"
#include "bake/plan.hpp"
#include "bake/preflight.hpp"
#include "bake/requirements.hpp"
#include "bake/secrets.hpp"
#include "bake/steps.hpp"
#include "bake/tree_memo.hpp"
#include "bake/vm_build.hpp"
#include "check/runner.hpp"
#include "check/tools.hpp"
#include "image/out_dir.hpp"
#include "sandbox/unpack.hpp"
#include "util/fs.hpp"
#include "util/git.hpp"
#include "util/process.hpp"
#include "util/strings.hpp"

#include <chrono>
#include <ctime>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln::bake {

namespace fs = std::filesystem;

Build::Build(const spec::Definition& definition, const BuildOptions& options,
             BuildObserver& observer, LayerCache cache)
    : def_(definition), options_(options), observer_(observer), cache_(std::move(cache)),
      debs_(cache::at(cache_.dir(), cache::kDebs)), out_(options.out_dir),
      scratch_(cache::scratch(cache_.dir(), "build"))
{
  phases_.push_back({"inputs", "inputs"});
  if (def_.builder == spec::Builder::vm) {
    phases_.push_back({"vm", "vm"}); // every step, in the booted base disk
  } else {
    phases_.push_back({"bootstrap", "bootstrap"});
    if (!def_.requirements.empty())
      phases_.push_back({"requirements", "requirements"});
    for (const auto& step : def_.steps)
      phases_.push_back({step.name, step.kind()});
  }
  if (spec::wants_disk(def_))
    phases_.push_back({"kiln-boot", "boot"});
  if (!def_.tests.empty())
    phases_.push_back({"tests", "tests"});
  if (!def_.report.empty())
    phases_.push_back({"report", "report"});
  phases_.push_back({"generalize", "generalize"});
  phases_.push_back({"export", "export"});
  if (def_.boot_test)
    phases_.push_back({"boot-test", "tests"});
}

Build::~Build()
{
  if (pending_)
    cache_.discard(*pending_);
  if (lock_fd_ >= 0 && !finished_) { // a failed build leaves no output, old or new
    std::error_code ec;
    // The export wrote the manifest before a failed boot test: it goes first.
    fs::remove(image::out::at(out_, image::out::kManifest), ec);
    for (const auto& name : all_output_files())
      fs::remove(out_ / name, ec);
  }
  (void)util::remove_tree(scratch_);
  if (lock_fd_ >= 0)
    ::close(lock_fd_);
}

Expected<BuildResult> Build::run()
{
  auto result = run_phases();
  if (!result && options_.keep_on_error && lock_fd_ >= 0)
    return keep_failed_tree(std::move(result).error());
  return result;
}

Expected<BuildResult> Build::run_phases()
{
  auto start = Clock::now();
  auto refresh = refresh_from(def_, options_);
  if (!refresh)
    return std::move(refresh).error();
  refresh_ = *refresh;
  auto epoch = given_source_date_epoch(options_.source_date_epoch);
  if (!epoch)
    return std::move(epoch).error();
  epoch_given_ = epoch->has_value();
  epoch_ = epoch->value_or(0); // else the base layer's, settled in obtain_layer
  KILN_TRY(prepare_out());
  for (const auto& step : def_.steps) {
    if (const auto* artifact = std::get_if<spec::ArtifactStep>(&step.body))
      cache_.hold("artifact-" + artifact->sha256); // kept from `kiln cache prune` while we run
  }
  KILN_TRY(phase(1, [&](StepLog& log) { return resolve(log); }));
  specs_ = layer_specs(def_, inputs_);
  for (size_t i = 0; i < specs_.size(); ++i)
    KILN_TRY(layer_phase(i));
  int next = static_cast<int>(specs_.size()) + 2;
  if (!def_.tests.empty())
    KILN_TRY(phase(next++, [&](StepLog& log) { return run_image_tests(def_.tests, "", log); }));
  if (!def_.report.empty())
    KILN_TRY(phase(next++, [&](StepLog& log) { return collect_tools(log); }));
  KILN_TRY(export_phases());
  if (def_.boot_test)
    KILN_TRY(
        phase(static_cast<int>(phases_.size()), [&](StepLog& log) { return boot_phase(log); }));
  BuildResult result = shared_;
  if (remote_) { // the uploads ran beside the tests and the export
    PushReport pushed = remote_->finish();
    result.pushed_layers = pushed.pushed;
    result.present_layers = pushed.present;
    result.pushed_bytes = pushed.new_bytes;
    result.shared_notes.insert(result.shared_notes.end(), pushed.notes.begin(), pushed.notes.end());
  }
  result.out_dir = out_;
  result.manifest_path = image::out::at(out_, image::out::kManifest);
  result.manifest = manifest_;
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  result.cached_layers = cached_;
  result.built_layers = static_cast<int>(specs_.size()) - cached_;
  finished_ = true;
  return result;
}

Status Build::prepare_out()
{
  KILN_TRY(util::make_dirs(out_));
  lock_fd_ =
      ::open(image::out::at(out_, image::out::kLock).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0 || ::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0)
    return make_error(ExitCode::environment, "another kiln build is writing to " + out_.string(),
                      "wait for it to finish, or build into another folder with --out");
  // What report.html compares the new image with, read before the old one is removed.
  if (fs::exists(image::out::at(out_, image::out::kManifest))) {
    if (auto facts = report::read_image_facts(out_))
      earlier_ = std::move(*facts);
  }
  // The outputs stay until the export replaces them (the manifest goes first, so they never
  // look finished): an unchanged output is the cached export's own hard link, kept as it is.
  KILN_TRY(image::out::clear(out_, {}));
  KILN_TRY(discard_kept(cache_.dir(), out_)); // an earlier failed bake's tree
  KILN_TRY(util::remove_tree(scratch_));
  return util::make_dirs(scratch_ / "merged");
}

Error Build::explain_failure(Error error, const Phase& current, const StepLog& log)
{
  diagnose(error, log.tail(), current.kind);
  std::string label = current.name == current.kind
                          ? "'" + current.name + "'"
                          : "'" + current.name + "' (" + current.kind + ")";
  error.message = "step " + std::to_string(current.number) + "/" + std::to_string(current.total) +
                  " " + label + " failed: " + error.message;
  if (log.tail().empty()) {
    error.detail = "log: " + log.path().string();
    return error;
  }
  error.detail =
      "last " + std::to_string(log.tail().size()) + " lines of " + log.path().string() + ":";
  for (const auto& line : log.tail())
    error.detail += "\n  | " + line;
  return error;
}

Status Build::resolve(StepLog& log)
{
  // Secrets first: one that cannot be resolved fails before anything is downloaded or built.
  auto secrets = resolve_secrets(def_);
  if (!secrets)
    return std::move(secrets).error();
  secrets_ = std::move(*secrets);
  for (const auto& [name, value] : secrets_.values)
    log.note("secret " + name + " resolved");
  auto inputs = resolve_inputs(def_, cache_, true, log, options_.remote);
  if (!inputs)
    return std::move(inputs).error();
  inputs_ = std::move(*inputs);
  if (!secrets_.values.empty()) {
    auto key = secrets_key(cache_, options_.shared);
    if (!key)
      return std::move(key).error();
    inputs_.secret_hmacs = secret_hmacs(secrets_, *key);
  }
  return open_shared_cache(log);
}

Status Build::open_shared_cache(StepLog& log)
{
  const SharedCacheOptions& shared = options_.shared;
  if (shared.from.empty() && shared.to.empty())
    return ok_status();
  auto remote = RemoteCache::open(shared, options_.remote, cache::scratch(cache_.dir(), "shared"));
  if (!remote)
    return std::move(remote).error();
  remote_ = std::move(*remote);
  sources_.remote = remote_.get();
  for (const auto& problem : remote_->problems()) {
    log.note(problem);
    shared_.shared_notes.push_back(problem);
  }
  sources_.first_private = first_private_layer(def_, shared);
  if (remote_->reads())
    log.note("shared cache: layers are looked up in " + shared.from);
  if (remote_->writes())
    log.note("shared cache: layers are uploaded to " + shared.to);
  if (sources_.first_private != SIZE_MAX)
    log.note("shared cache: layer " + std::to_string(sources_.first_private + 1) +
             " and those above it are not shared: a step uses a secret, and secrets are HMAC'd "
             "into keys with this machine's own key (set cache.secret_key to share them)");
  return ok_status();
}

// The stack of finished layers, topmost first, relative to the layers folder.
sandbox::Overlay Build::stack() const
{
  sandbox::Overlay overlay;
  overlay.base_dir = cache_.layers_dir();
  for (auto it = layers_.rbegin(); it != layers_.rend(); ++it)
    overlay.lower.push_back(it->key + "/tree");
  return overlay;
}

// The layers built so far, read-only, where tests and report commands look at them.
sandbox::RunOptions Build::finished_tree() const
{
  sandbox::RunOptions tree;
  tree.root = scratch_ / "merged";
  tree.overlay = stack();
  return tree;
}

// Runs tests on the layers built so far, read-only; their results go to OUT/tests at once, so
// that a pipeline can publish them even when one fails.
Status Build::run_image_tests(const std::vector<spec::ImageTest>& tests, const std::string& step,
                              StepLog& log)
{
  fs::path scratch = scratch_ / "tests";
  KILN_TRY(util::make_dirs(scratch));
  auto results =
      tree_test_results(cache_, layers_.back().digest, tests, step, finished_tree(), scratch, log);
  (void)util::remove_tree(scratch);
  if (!results)
    return std::move(results).error();
  KILN_TRY(add_test_results(*results));
  bool failed = std::any_of(results->begin(), results->end(),
                            [](const check::TestResult& r) { return !r.passed; });
  if (failed)
    return make_error(ExitCode::build_failed, check::summarize(*results),
                      "see " + image::out::tests_at(out_, image::out::kJunit).string() +
                          "; once fixed, kiln test OUT --definition FILE runs the tests alone");
  log.note(check::summarize(*results));
  return ok_status();
}

// The software report's tool versions, from the finished tree.
Status Build::collect_tools(StepLog& log)
{
  fs::path scratch = scratch_ / "report";
  KILN_TRY(util::make_dirs(scratch));
  auto tools =
      tree_tool_versions(cache_, layers_.back().digest, def_.report, finished_tree(), scratch, log);
  (void)util::remove_tree(scratch);
  if (!tools)
    return std::move(tools).error();
  tools_ = std::move(*tools);
  return ok_status();
}

Status Build::layer_phase(size_t index)
{
  return phase(static_cast<int>(index) + 2, [&](StepLog& log) -> Status {
    KILN_TRY(obtain_layer(index, log));
    if (specs_[index].kind == "vm") { // each step's tests, on the captured tree
      for (const auto& step : def_.steps) {
        if (!step.tests.empty())
          KILN_TRY(run_image_tests(step.tests, step.name, log));
      }
      return ok_status();
    }
    const spec::Step* step = step_for(index);
    if (!step || step->tests.empty())
      return ok_status();
    return run_image_tests(step->tests, step->name, log);
  });
}

// The layer behind phase `index`: from the cache, or built now.
Status Build::obtain_layer(size_t index, StepLog& log)
{
  std::string parent = layers_.empty() ? "" : layers_.back().digest;
  Decision d =
      decide(cache_, sources_, specs_[index], index, parent, def_.name, refresh_, options_.max_age);
  if (!d.remote_problem.empty()) {
    log.note(d.remote_problem);
    shared_.shared_notes.push_back(d.remote_problem);
  }
  if (!d.layer && d.remote) {
    auto fetched = fetch_layer(index, d, log);
    if (fetched) {
      d.layer = std::move(*fetched);
      why_ = "from the shared cache";
    } else {
      std::string note = "layer " + d.key.substr(0, 12) +
                         " from the shared cache is not used: " + fetched.error().message;
      log.note(note + "; building it");
      shared_.shared_notes.push_back(note);
    }
  }
  if (d.layer) {
    log.note("cached layer " + d.key);
    if (index == 0 && !epoch_given_) {     // the image takes its base's epoch: base_epoch_of
      if (d.layer->source_date_epoch <= 0) // a base from before kiln kept one
        KILN_TRY(cache_.record_epoch(*d.layer, base_epoch_of(def_)));
      epoch_ = d.layer->source_date_epoch;
    }
    cached_phase_ = true;
    ++cached_;
    layers_.push_back(*d.layer);
    share(index, layers_.back());
    return ok_status();
  }
  why_ = d.why;
  if (index == 0 && !epoch_given_)
    epoch_ = base_epoch_of(def_);
  log.note("building layer " + d.key + ": " + d.why);
  if (fs::exists(cache_.layers_dir() / d.key))
    KILN_TRY(cache_.remove(d.key)); // stale: replaced by the one built now
  auto layer = build_layer(index, d.key, log);
  if (!layer)
    return std::move(layer).error();
  layers_.push_back(std::move(*layer));
  share(index, layers_.back());
  return ok_status();
}

Expected<LayerMeta> Build::fetch_layer(size_t index, const Decision& d, StepLog& log)
{
  const store::SharedLayer& remote = *d.remote;
  log.note("downloading layer " + d.key + " from the shared cache " + remote_->from_location() +
           " (" + util::format_bytes(remote.archive.size) + " archive)");
  if (fs::exists(cache_.layers_dir() / d.key))
    KILN_TRY(cache_.remove(d.key)); // stale: replaced by the one downloaded now
  auto pending = cache_.begin(d.key);
  if (!pending)
    return std::move(pending).error();
  pending_ = std::move(*pending);
  fs::path earlier; // an older layer of this step: the chunks they share are not read
  if (auto previous = cache_.previous(def_.name, specs_[index].step); previous)
    earlier = cache_.layers_dir() / previous->key / "tree";
  FetchReport report;
  Status fetched = remote_->fetch(remote, pending_->tree, earlier, &log, &report);
  if (!fetched) {
    cache_.discard(*pending_);
    pending_.reset();
    return std::move(fetched).error();
  }
  LayerMeta meta;
  meta.image = remote.meta.value("image", def_.name);
  meta.step = specs_[index].step;
  meta.kind = specs_[index].kind;
  meta.inputs = remote.meta.value("inputs", nlohmann::json::object());
  meta.source_date_epoch = remote.meta.value("source_date_epoch", int64_t{0});
  auto committed = cache_.commit(*pending_, meta);
  pending_.reset();
  if (!committed)
    return std::move(committed).error();
  if (committed->digest != remote.digest) {
    (void)cache_.remove(d.key);
    return make_error(ExitCode::input, "it unpacked to another tree than the one it was built as "
                                       "(digest " +
                                           committed->digest.substr(0, 12) + ", expected " +
                                           remote.digest.substr(0, 12) + ")");
  }
  ++shared_.shared_layers;
  shared_.shared_bytes += report.bytes;
  log.note("layer " + d.key.substr(0, 12) + " from the shared cache: " +
           util::format_bytes(report.bytes) + " read; " + std::to_string(report.chunks_at_hand) +
           " of " + std::to_string(report.chunks) + " chunks were already on this machine");
  return committed;
}

void Build::share(size_t index, const LayerMeta& layer)
{
  if (remote_ && remote_->writes() && index < sources_.first_private)
    remote_->push(layer, cache_.layers_dir() / layer.key / "tree");
}

Expected<LayerMeta> Build::build_layer(size_t index, const std::string& key, StepLog& log)
{
  auto pending = cache_.begin(key);
  if (!pending)
    return std::move(pending).error();
  pending_ = std::move(*pending);
  const std::string& kind = specs_[index].kind;
  Status built = kind == "vm"                             ? build_vm(log)
                 : kind == "bootstrap" || kind == "image" ? build_base(log)
                 : kind == "requirements" || kind == "boot"
                     ? build_on_stack(nullptr, index, log)
                     : build_on_stack(step_for(index), index, log);
  if (!built) {
    // --on-error=abort keeps the changes for `kiln shell OUT`, unless they hold a secret's value.
    const spec::Step* step = step_for(index);
    bool keep = options_.keep_on_error && kind != "vm"; // the VM builder keeps its disk
    if (keep && step && !step->secrets.empty() &&
        !check_no_secret_in(secrets_, pending_->tree, "step '" + step->name + "'")) {
      keep = false;
      secret_in_changes_ = true;
    }
    if (keep && keep_changes(cache_.dir(), out_, pending_->dir))
      kept_changes_ = true;
    else
      cache_.discard(*pending_);
    pending_.reset();
    return std::move(built).error();
  }
  LayerMeta meta;
  meta.image = def_.name;
  meta.step = specs_[index].step;
  meta.kind = specs_[index].kind;
  meta.inputs = recorded_inputs(specs_[index], layers_.empty() ? "" : layers_.back().digest);
  meta.source_date_epoch = epoch_;
  auto committed = cache_.commit(*pending_, meta);
  pending_.reset();
  return committed;
}

Status Build::build_base(StepLog& log)
{
  if (inputs_.parent) {
    // The parent's rootfs, verified against its manifest in the inputs phase, as it was built.
    fs::path tar = image::out::at(inputs_.parent->dir, image::out::kRootfsTar);
    log.note("unpacking " + tar.string());
    KILN_TRY(sandbox::extract_confined(tar, pending_->tree, 0, true, &log));
  } else {
    KILN_TRY(util::remove_tree(pending_->tree)); // mmdebstrap wants to create it
    KILN_TRY(bootstrap(def_.base.bootstrap, pending_->tree, epoch_, &debs_, log));
  }
  fs::path policy = pending_->tree / "usr/sbin/policy-rc.d";
  if (!fs::exists(fs::symlink_status(policy)))
    KILN_TRY(util::write_file_atomic(policy, kPolicyRcD, 0755));
  return ok_status();
}

Status Build::build_vm(StepLog& log)
{
  VmBuild vm{def_,
             inputs_,
             pending_->tree,
             scratch_ / "vm",
             image::out::at(out_, image::out::kLogs) / "vm-console.log",
             epoch_,
             secrets_.values,
             options_.kvm,
             options_.keep_on_error ? kept_machine_disk(cache_.dir(), out_) : fs::path()};
  Status built = build_in_vm(vm, log);
  kept_machine_ = !built && !vm.keep_disk.empty() && fs::exists(vm.keep_disk);
  (void)util::remove_tree(scratch_ / "vm");
  KILN_TRY(std::move(built));
  for (const auto& step : def_.steps) {
    if (!step.secrets.empty())
      KILN_TRY(check_no_secret_in(secrets_, pending_->tree, "step '" + step.name + "'"));
  }
  return ok_status();
}

// The definition's step behind layer `index`, or null for kiln's own layers.
const spec::Step* Build::step_for(size_t index) const
{
  if (def_.builder == spec::Builder::vm) // the steps are all in the vm layer
    return nullptr;
  if (index < first_step_index() || index - first_step_index() >= def_.steps.size())
    return nullptr;
  return &def_.steps[index - first_step_index()];
}

// Runs a step (or, without one, kiln's requirements or boot layer) on the stack of layers built
// so far.
Status Build::build_on_stack(const spec::Step* step, size_t index, StepLog& log)
{
  fs::path scratch = scratch_ / ("step-" + std::to_string(index));
  KILN_TRY(util::make_dirs(scratch));
  sandbox::Overlay overlay = stack();
  overlay.upper = pending_->tree.string();
  overlay.work = pending_->work.string();
  StepContext context{def_,
                      inputs_,
                      scratch_ / "merged",
                      overlay,
                      scratch,
                      epoch_,
                      &debs_,
                      {},
                      step && step->secret_env,
                      step && step->offline,
                      &sandbox_runner()};
  if (!step) {
    Status applied = specs_[index].kind == "boot"
                         ? apply_boot_layer(context, machine(), log)
                         : apply_requirements(def_.requirements, context, log);
    (void)util::remove_tree(scratch);
    return applied;
  }
  for (const auto& name : step->secrets)
    context.secrets.emplace_back(name, secrets_.values.at(name));
  Status status = run_step(*step, context, log);
  (void)util::remove_tree(scratch);
  if (status && !step->secrets.empty())
    status = check_no_secret_in(secrets_, pending_->tree, "step '" + step->name + "'");
  return status;
}

Expected<BuildResult> build(const spec::Definition& definition, const BuildOptions& options,
                            BuildObserver& observer)
{
  KILN_TRY(check_environment());
  auto cache = LayerCache::open(options.cache_dir);
  if (!cache)
    return std::move(cache).error();
  KILN_TRY(check_overlay_support(options.cache_dir));
  Build build(definition, options, observer, std::move(*cache));
  return build.run();
}

} // namespace kiln::bake
