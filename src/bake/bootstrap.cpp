#include "bake/bootstrap.hpp"

#include "bake/commands.hpp"
#include "util/strings.hpp"

extern char** environ;

namespace kiln::bake {

Status bootstrap(const spec::Bootstrap& base, const std::filesystem::path& tree,
                 int64_t source_date_epoch, DebCache* debs, StepLog& log)
{
  std::vector<std::string> argv = {"mmdebstrap", "--mode=root", "--variant=" + base.variant,
                                   "--components=" + util::join(base.components, ","),
                                   // Package lists stay for the package steps; generalize drops
                                   // them before export.
                                   "--skip=cleanup/apt/lists"};
  if (!base.packages.empty())
    argv.push_back("--include=" + util::join(base.packages, ","));
  if (debs) {
    // The hooks are fixed text; the cache's path reaches them through the environment.
    argv.push_back("--skip=essential/unlink,cleanup/apt/cache");
    argv.push_back("--setup-hook=mkdir -p \"$1/var/cache/apt/archives\" && "
                   "mount --bind \"$KILN_DEB_CACHE\" \"$1/var/cache/apt/archives\"");
    argv.push_back("--customize-hook=umount \"$1/var/cache/apt/archives\"");
  }
  argv.push_back(base.suite);
  argv.push_back(tree.string());
  if (!base.mirror.empty())
    argv.push_back(base.mirror);

  std::vector<std::string> env;
  for (char** entry = environ; *entry; ++entry) {
    if (std::string_view(*entry).rfind("SOURCE_DATE_EPOCH=", 0) != 0)
      env.emplace_back(*entry);
  }
  env.push_back("SOURCE_DATE_EPOCH=" + std::to_string(source_date_epoch));
  if (!debs)
    return run_on_host(argv, env, log);
  env.push_back("KILN_DEB_CACHE=" + debs->dir().string());
  KILN_TRY(debs->acquire(log));
  Status done = run_on_host(argv, env, log);
  if (done)
    done = debs->record_new({tree / "var/lib/apt/lists"}, log);
  debs->release();
  return done;
}

} // namespace kiln::bake
