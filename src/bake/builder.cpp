#include "bake/builder.hpp"

#include "bake/bootstrap.hpp"
#include "bake/diagnose.hpp"
#include "bake/inputs.hpp"
#include "bake/steps.hpp"
#include "image/dpkg.hpp"
#include "image/generalize.hpp"
#include "image/tar_export.hpp"
#include "util/fs.hpp"
#include "util/git.hpp"
#include "util/process.hpp"
#include "util/strings.hpp"
#include "util/version.hpp"

#include <chrono>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln::bake {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

int64_t resolve_source_date_epoch(const spec::Definition& definition)
{
  if (const char* env = std::getenv("SOURCE_DATE_EPOCH"); env && *env) {
    try {
      return std::stoll(env);
    } catch (...) {
    }
  }
  if (auto time = util::git_commit_time(definition.file))
    return *time;
  struct stat st {};
  if (::stat(definition.file.c_str(), &st) == 0)
    return st.st_mtime;
  return 0;
}

fs::path default_cache_dir()
{
  if (const char* env = std::getenv("KILN_CACHE_DIR"); env && *env)
    return env;
  if (::geteuid() == 0)
    return "/var/cache/kiln";
  const char* home = std::getenv("HOME");
  return fs::path(home ? home : "/tmp") / ".cache/kiln";
}

namespace {

const char* kPolicyRcD =
    "#!/bin/sh\n# Written by kiln during a build: no service starts.\nexit 101\n";

Status check_environment()
{
  if (::geteuid() != 0)
    return make_error(ExitCode::environment, "kiln build needs root",
                      "run it as root (sudo kiln build ...): it creates namespaces and mounts");
  if (util::find_program("mmdebstrap").empty())
    return make_error(ExitCode::environment, "mmdebstrap is not installed",
                      "install it: apt-get install mmdebstrap");
  return ok_status();
}

class Build {
public:
  Build(const spec::Definition& definition, const BuildOptions& options, BuildObserver& observer)
      : def_(definition), options_(options), observer_(observer), out_(options.out_dir),
        work_(options.out_dir / ".kiln-work"), tree_(work_ / "rootfs")
  {
    phases_.push_back({"inputs", "inputs"});
    phases_.push_back({"bootstrap", "bootstrap"});
    for (const auto& step : def_.steps)
      phases_.push_back({step.name, step.kind()});
    phases_.push_back({"generalize", "generalize"});
    phases_.push_back({"export", "export"});
  }

  ~Build()
  {
    if (work_created_)
      (void)util::remove_tree(work_);
    if (lock_fd_ >= 0)
      ::close(lock_fd_);
  }

  Expected<BuildResult> run()
  {
    auto start = Clock::now();
    KILN_TRY(check_environment());
    KILN_TRY(prepare_out());
    epoch_ =
        options_.source_date_epoch ? *options_.source_date_epoch : resolve_source_date_epoch(def_);
    KILN_TRY(phase(1, [&](StepLog& log) { return resolve(log); }));
    KILN_TRY(
        phase(2, [&](StepLog& log) { return bootstrap(def_.base.bootstrap, tree_, epoch_, log); }));
    KILN_TRY(install_policy_rc_d());
    for (size_t i = 0; i < def_.steps.size(); ++i) {
      const auto& step = def_.steps[i];
      KILN_TRY(phase(static_cast<int>(i) + 3, [&](StepLog& log) { return execute(step, i, log); }));
    }
    KILN_TRY(remove_policy_rc_d());
    int count = static_cast<int>(phases_.size());
    KILN_TRY(phase(count - 1, [&](StepLog& log) { return generalize(log); }));
    KILN_TRY(phase(count, [&](StepLog& log) { return export_outputs(log); }));
    BuildResult result;
    result.out_dir = out_;
    result.manifest_path = out_ / "manifest.json";
    result.manifest = manifest_;
    result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return result;
  }

private:
  struct PhaseName {
    std::string name;
    std::string kind;
  };

  Status prepare_out()
  {
    KILN_TRY(util::make_dirs(out_));
    lock_fd_ = ::open((out_ / ".kiln.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd_ < 0 || ::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0)
      return make_error(ExitCode::environment, "another kiln build is writing to " + out_.string(),
                        "wait for it to finish, or build into another folder with --out");
    // The manifest goes first: without it, nothing left over can look like a finished image.
    std::error_code ec;
    for (const char* name : {"manifest.json", "rootfs.tar.zst", ".rootfs.tar.zst.partial"})
      fs::remove(out_ / name, ec);
    KILN_TRY(util::remove_tree(work_));
    fs::remove_all(out_ / "logs", ec);
    KILN_TRY(util::make_dirs(out_ / "logs"));
    KILN_TRY(util::make_dirs(work_));
    work_created_ = true;
    return ok_status();
  }

  template <typename Body> Status phase(int number, Body&& body)
  {
    Phase current{number, static_cast<int>(phases_.size()), phases_[number - 1].name,
                  phases_[number - 1].kind};
    char prefix[16];
    std::snprintf(prefix, sizeof prefix, "%02d-", number);
    StepLog log(out_ / "logs" / (prefix + current.name + ".log"), observer_);
    observer_.phase_started(current);
    auto start = Clock::now();
    Status status = body(log);
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    observer_.phase_finished(current, status.ok(), seconds);
    if (status)
      return status;
    Error error = std::move(status).error();
    diagnose(error, log.tail(), current.kind);
    std::string label = current.name == current.kind
                            ? "'" + current.name + "'"
                            : "'" + current.name + "' (" + current.kind + ")";
    error.message = "step " + std::to_string(number) + "/" + std::to_string(current.total) + " " +
                    label + " failed: " + error.message;
    if (!log.tail().empty()) {
      error.detail =
          "last " + std::to_string(log.tail().size()) + " lines of " + log.path().string() + ":";
      for (const auto& line : log.tail())
        error.detail += "\n  | " + line;
    } else {
      error.detail = "log: " + log.path().string();
    }
    return error;
  }

  Status resolve(StepLog& log)
  {
    auto inputs = resolve_inputs(def_, options_.cache_dir, log);
    if (!inputs)
      return std::move(inputs).error();
    inputs_ = std::move(*inputs);
    return ok_status();
  }

  Status execute(const spec::Step& step, size_t index, StepLog& log)
  {
    fs::path scratch = work_ / ("step-" + std::to_string(index + 1));
    KILN_TRY(util::make_dirs(scratch));
    StepContext context{def_, inputs_, tree_, scratch, epoch_};
    Status status = run_step(step, context, log);
    (void)util::remove_tree(scratch);
    return status;
  }

  Status install_policy_rc_d()
  {
    fs::path path = tree_ / "usr/sbin/policy-rc.d";
    if (fs::exists(fs::symlink_status(path)))
      return ok_status();
    KILN_TRY(util::write_file_atomic(path, kPolicyRcD, 0755));
    policy_rc_d_installed_ = true;
    return ok_status();
  }

  Status remove_policy_rc_d()
  {
    fs::path path = tree_ / "usr/sbin/policy-rc.d";
    auto content = util::read_file(path);
    if (policy_rc_d_installed_ && content && *content == kPolicyRcD)
      fs::remove(path);
    return ok_status();
  }

  Status generalize(StepLog& log)
  {
    auto report = image::generalize(tree_);
    if (!report)
      return std::move(report).error();
    for (const auto& path : report->removed)
      log.note("removed /" + path);
    for (const auto& path : report->truncated)
      log.note("emptied /" + path);
    auto packages = image::installed_packages(tree_);
    if (!packages)
      return std::move(packages).error();
    packages_ = std::move(*packages);
    return ok_status();
  }

  Status export_outputs(StepLog& log)
  {
    fs::path partial = out_ / ".rootfs.tar.zst.partial";
    auto progress = [&](uint64_t entries, uint64_t bytes) {
      observer_.phase_progress(std::to_string(entries) + " files, " + util::format_bytes(bytes));
      observer_.tick();
    };
    auto tar = image::write_rootfs_tar(tree_, partial, epoch_, progress);
    if (!tar) {
      fs::remove(partial);
      return std::move(tar).error();
    }
    log.note("rootfs.tar.zst: " + std::to_string(tar->entries) + " entries, " +
             std::to_string(tar->size) + " bytes, sha256 " + tar->sha256);
    if (::rename(partial.c_str(), (out_ / "rootfs.tar.zst").c_str()) != 0)
      return errno_error("cannot rename into place", (out_ / "rootfs.tar.zst").string(), errno);
    manifest_ = make_manifest({"rootfs", "rootfs.tar.zst", tar->sha256, tar->size});
    return util::write_file_atomic(out_ / "manifest.json",
                                   image::to_json(manifest_).dump(2) + "\n");
  }

  image::Manifest make_manifest(image::OutputFile rootfs)
  {
    image::Manifest m;
    m.name = def_.name;
    m.version = def_.version;
    m.definition_file = def_.file.filename().string();
    m.definition_sha256 = inputs_.definition_sha256;
    m.inputs = inputs_.files;
    m.artifacts = inputs_.artifacts;
    const auto& boot = def_.base.bootstrap;
    m.base = {
        {"bootstrap",
         {{"suite", boot.suite},
          {"variant", boot.variant},
          {"mirror", boot.mirror.empty() ? nlohmann::json(nullptr) : nlohmann::json(boot.mirror)},
          {"components", boot.components},
          {"packages", boot.packages}}}};
    m.packages = packages_;
    m.outputs.push_back(std::move(rootfs));
    m.kiln_version = kVersion;
    m.git_commit = util::git_head_commit(def_.file);
    m.source_date_epoch = epoch_;
    return m;
  }

  const spec::Definition& def_;
  const BuildOptions& options_;
  BuildObserver& observer_;
  fs::path out_;
  fs::path work_;
  fs::path tree_;
  std::vector<PhaseName> phases_;
  int lock_fd_ = -1;
  bool work_created_ = false;
  bool policy_rc_d_installed_ = false;
  int64_t epoch_ = 0;
  Inputs inputs_;
  std::vector<image::Package> packages_;
  image::Manifest manifest_;
};

} // namespace

Expected<BuildResult> build(const spec::Definition& definition, const BuildOptions& options,
                            BuildObserver& observer)
{
  Build build(definition, options, observer);
  return build.run();
}

} // namespace kiln::bake
