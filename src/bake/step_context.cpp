#include "bake/step_context.hpp"

#include "bake/commands.hpp"
#include "sandbox/sandbox.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

namespace kiln::bake {

namespace fs = std::filesystem;

namespace {

// The package lists come from the bootstrap (kept for this) or from an earlier step; a tree
// without them gets them first.
// Its arguments are apt options (build_apt_options).
const char* kUpdateIfNoLists =
    "ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1 || apt-get update \"$@\"";

Status install_with_binds(const std::vector<std::string>& packages, const StepContext& context,
                          const std::vector<sandbox::Bind>& binds, StepLog& log)
{
  std::vector<std::string> update_argv = {"/bin/sh", "-eu", "-c", kUpdateIfNoLists, "kiln-update"};
  for (auto& option : build_apt_options())
    update_argv.push_back(std::move(option));
  TreeCommand update = tree_command(context, update_argv, binds);
  update.display = "apt-get update (only if the tree has no package lists)";
  KILN_TRY(context.runner->run(update, log));
  // dpkg's fsync after every file buys nothing here: a step that does not finish is thrown
  // away with its layer. mmdebstrap skips it the same way.
  std::vector<std::string> argv = {
      "apt-get", "install",         "-y", "--no-install-recommends",
      "-o",      "Dpkg::Use-Pty=0", "-o", "Dpkg::Options::=--force-unsafe-io"};
  for (auto& option : build_apt_options())
    argv.push_back(std::move(option));
  argv.insert(argv.end(), packages.begin(), packages.end());
  return context.runner->run(tree_command(context, argv, binds), log);
}

} // namespace

TreeCommand tree_command(const StepContext& context, std::vector<std::string> argv,
                         std::vector<sandbox::Bind> binds)
{
  TreeCommand made{
      context.tree,     context.overlay,
      std::move(argv),  {"SOURCE_DATE_EPOCH=" + std::to_string(context.source_date_epoch)},
      std::move(binds), {},
      context.secrets};
  if (context.secret_env) {
    for (const auto& [name, value] : context.secrets)
      made.extra_env.push_back(util::upper(name) + "=" + value);
  }
  if (context.offline)
    made.network = sandbox::Network::none;
  return made;
}

// The proxy an image configures is for where it will run; while it is built, apt uses the build
// host's (its http_proxy and https_proxy), or none.
std::vector<std::pair<std::string, std::string>> build_apt_proxies()
{
  std::vector<std::pair<std::string, std::string>> proxies;
  for (const auto& [scheme, variable] :
       {std::pair{"http", "http_proxy"}, {"https", "https_proxy"}}) {
    const char* host_proxy = std::getenv(variable);
    proxies.emplace_back(std::string("Acquire::") + scheme + "::Proxy",
                         host_proxy && *host_proxy ? host_proxy : "DIRECT");
  }
  return proxies;
}

std::vector<std::string> build_apt_options()
{
  std::vector<std::string> options = {"-o", "APT::Color=0"};
  for (const auto& [name, value] : build_apt_proxies()) {
    options.push_back("-o");
    options.push_back(name + "=" + value);
  }
  return options;
}

namespace {

// The package lists kiln trusts for the cache: the bootstrap layer's, which mmdebstrap fetched on
// the host and checked against the archive's signed Release file. A step's own lists, and a
// parent image's, may have been written by a definition: they vouch for nothing.
std::vector<fs::path> trusted_package_lists(const StepContext& context)
{
  auto layers = layer_folders(context.overlay); // the step's own upper first, the base last
  if (!context.definition.base.image.empty() || layers.size() < 2)
    return {};
  return {layers.back() / "var/lib/apt/lists"};
}

} // namespace

Status with_package_cache(const StepContext& context, StepLog& log,
                          const std::function<Status(const std::vector<sandbox::Bind>&)>& work)
{
  std::vector<sandbox::Bind> binds;
  fs::path downloaded = context.scratch / "debs-downloaded";
  fs::path overlay_work = context.scratch / "debs-work";
  if (context.debs) {
    KILN_TRY(context.debs->acquire(log));
    for (const auto& dir : {downloaded, overlay_work}) {
      KILN_TRY(util::remove_tree(dir));
      KILN_TRY(util::make_dirs(dir));
    }
    binds.push_back(
        {context.debs->dir(), "/var/cache/apt/archives", true, downloaded, overlay_work});
  }
  Status done = work(binds);
  if (context.debs) {
    // Whatever apt fetched, even for a failed run, may serve the next bake once verified.
    Status recorded = context.debs->adopt(downloaded, trusted_package_lists(context), log);
    context.debs->release();
    (void)util::remove_tree(downloaded);
    (void)util::remove_tree(overlay_work);
    if (done && !recorded)
      return recorded;
  }
  return done;
}

Status install_packages(const std::vector<std::string>& packages, const StepContext& context,
                        StepLog& log)
{
  return with_package_cache(context, log, [&](const std::vector<sandbox::Bind>& binds) {
    return install_with_binds(packages, context, binds, log);
  });
}

// Copies SRC (the bound input) to DEST in the image, from inside the tree so that links in the
// image resolve inside it. The script is fixed; paths arrive as arguments, never as code.
Status copy_into_image(const StepContext& context, const fs::path& source, const std::string& dest,
                       const std::string& owner, const std::string& mode, StepLog& log)
{
  static const char* kCopy = R"sh(src=$1 dest=$2 owner=$3 mode=$4
if [ -d "$src" ]; then
  mkdir -p "$dest"
  cp -R --preserve=mode,links "$src/." "$dest/"
  chown -R "$owner" "$dest"
  if [ -n "$mode" ]; then find "$dest" -type f -exec chmod "$mode" {} +; fi
else
  mkdir -p "$(dirname "$dest")"
  cp --preserve=mode "$src" "$dest"
  chown "$owner" "$dest"
  if [ -n "$mode" ]; then chmod "$mode" "$dest"; fi
fi)sh";
  TreeCommand copy = tree_command(
      context, {"/bin/sh", "-eu", "-c", kCopy, "kiln-copy", kStepInput, dest, owner, mode},
      {{source, kStepInput}});
  copy.display = "copy " + source.string() + " to " + dest + " (owner " + owner +
                 (mode.empty() ? "" : ", mode " + mode) + ")";
  return context.runner->run(copy, log);
}

std::vector<fs::path> layer_folders(const sandbox::Overlay& overlay)
{
  std::vector<fs::path> folders;
  if (!overlay.upper.empty())
    folders.push_back(overlay.base_dir / overlay.upper);
  for (const auto& lower : overlay.lower)
    folders.push_back(overlay.base_dir / lower);
  return folders;
}

Status run_in_image(const StepContext& context, std::vector<std::string> argv, StepLog& log)
{
  return context.runner->run(tree_command(context, std::move(argv)), log);
}

Expected<int> exit_code_in_image(const StepContext& context, std::vector<std::string> argv,
                                 StepLog& log)
{
  return context.runner->exit_code(tree_command(context, std::move(argv)), log);
}

} // namespace kiln::bake
