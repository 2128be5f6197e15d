#include "bake/preflight.hpp"

#include "bake/builder.hpp"
#include "sandbox/sandbox.hpp"
#include "util/fs.hpp"
#include "util/git.hpp"
#include "util/process.hpp"

#include <sys/stat.h>
#include <unistd.h>

namespace kiln::bake {

namespace fs = std::filesystem;

Expected<SourceDateEpoch> source_date_epoch_of(const spec::Definition& definition,
                                               std::optional<int64_t> flag)
{
  if (flag)
    return SourceDateEpoch{*flag, true};
  if (const char* env = std::getenv("SOURCE_DATE_EPOCH"); env && *env) {
    std::string text = env;
    bool digits = text.size() <= 12 && text.find_first_not_of("0123456789") == std::string::npos;
    if (!digits)
      return make_error(ExitCode::usage,
                        "SOURCE_DATE_EPOCH '" + text + "' is not a number of seconds",
                        "set it to a Unix time, e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct), "
                        "or unset it");
    return SourceDateEpoch{std::stoll(text), true};
  }
  if (auto time = util::git_commit_time(definition.file))
    return SourceDateEpoch{*time, false};
  struct stat st {};
  if (::stat(definition.file.c_str(), &st) == 0)
    return SourceDateEpoch{st.st_mtime, false};
  return SourceDateEpoch{0, false};
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

// Mounts a tiny overlay in the cache folder, so that a filesystem that cannot hold layers is
// reported before minutes of work rather than at the first step.
Status check_overlay_support(const fs::path& cache_dir)
{
  fs::path probe = cache_dir / "tmp" / ("overlay-probe-" + std::to_string(::getpid()));
  for (const char* sub : {"lower", "upper", "work", "merged"})
    KILN_TRY(util::make_dirs(probe / sub));
  sandbox::RunOptions options;
  options.root = probe / "merged";
  options.overlay =
      sandbox::Overlay{probe, {"lower"}, (probe / "upper").string(), (probe / "work").string()};
  auto result = sandbox::run_with_tree(
      options, [] { return 0; }, nullptr);
  (void)util::remove_tree(probe);
  if (!result && result.error().message.find("overlayfs") != std::string::npos) {
    return make_error(ExitCode::environment,
                      "the cache folder " + cache_dir.string() +
                          " is on a filesystem that cannot hold overlayfs layers",
                      "choose a cache folder on ext4, xfs, btrfs or tmpfs with --cache-dir or "
                      "KILN_CACHE_DIR");
  }
  if (!result)
    return result.error();
  return ok_status();
}

} // namespace kiln::bake
