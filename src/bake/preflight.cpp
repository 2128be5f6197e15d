#include "bake/preflight.hpp"

#include "bake/cache_layout.hpp"
#include "sandbox/sandbox.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"

#include <unistd.h>

namespace kiln::bake {

namespace fs = std::filesystem;

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
  fs::path probe = cache::scratch(cache_dir, "overlay-probe");
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
