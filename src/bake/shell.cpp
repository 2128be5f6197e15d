#include "bake/shell.hpp"

#include "bake/cache_layout.hpp"
#include "bake/kept.hpp"
#include "bake/layer_cache.hpp"
#include "bake/preflight.hpp"
#include "check/test_output.hpp"
#include "image/out_dir.hpp"
#include "sandbox/sandbox.hpp"
#include "sandbox/unpack.hpp"
#include "util/fs.hpp"
#include "vm/machine.hpp"

#include <cstdlib>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace kiln::bake {

namespace fs = std::filesystem;

namespace {

// bash when the image has it, else sh; Debian's bash.bashrc shows debian_chroot in the prompt.
const std::vector<std::string> kLoginShell = {
    "/bin/sh", "-c", "if command -v bash >/dev/null 2>&1; then exec bash -l; else exec sh -l; fi"};

void say(const ShellOptions& options, const std::string& line)
{
  if (options.progress)
    options.progress->on_line(line);
}

// The kept tree's layers from the cache (held against `kiln cache prune` while the shell runs)
// and its changes folder as the upper layer.
Expected<sandbox::Overlay> kept_overlay(const ShellOptions& options, LayerCache& cache,
                                        const KeptTree& kept)
{
  std::error_code ec;
  if (!kept.cache_dir.empty() && !fs::equivalent(kept.cache_dir, options.cache_dir, ec))
    return make_error(ExitCode::usage,
                      "the tree in " + options.out_dir.string() + " was kept in the cache " +
                          kept.cache_dir + ", not in " + options.cache_dir.string(),
                      "run kiln shell with --cache-dir " + kept.cache_dir);
  sandbox::Overlay overlay;
  overlay.base_dir = cache.layers_dir();
  for (const auto& key : kept.layers) {
    if (!cache.hold(key) || !fs::is_directory(cache.layers_dir() / key / "tree"))
      return make_error(ExitCode::input,
                        "layer " + key.substr(0, 16) + " of the kept tree is no longer in " +
                            options.cache_dir.string(),
                        "kiln cache prune removed it: build again with --on-error=abort");
    overlay.lower.push_back(key + "/tree");
  }
  fs::path dir = kept_dir(options.cache_dir, options.out_dir);
  if (kept.has_changes && !fs::is_directory(dir / "upper"))
    return make_error(ExitCode::input, "the failed step's changes are gone from " + dir.string(),
                      "build again with --on-error=abort");
  KILN_TRY(util::make_dirs(dir / "upper"));
  KILN_TRY(util::make_dirs(dir / "work"));
  overlay.upper = (dir / "upper").string();
  overlay.work = (dir / "work").string();
  return overlay;
}

// OUT's image, unpacked from its verified tar into `scratch`.
Expected<sandbox::Overlay> image_overlay(const ShellOptions& options, LayerCache& cache,
                                         const fs::path& scratch)
{
  auto finished = image::out::read_verified(options.out_dir, "the image", &cache.digests());
  if (!finished)
    return std::move(finished).error();
  fs::path tar = image::out::at(options.out_dir, image::out::kRootfsTar);
  say(options, "unpacking " + tar.string() + " (" + finished->name + " " + finished->version +
                   ") into " + scratch.string());
  KILN_TRY(util::make_dirs(scratch / "tree"));
  KILN_TRY(sandbox::extract_confined(tar, scratch / "tree", 0, true, nullptr));
  sandbox::Overlay overlay;
  overlay.base_dir = scratch;
  overlay.lower = {"tree"};
  if (options.write) {
    KILN_TRY(util::make_dirs(scratch / "upper"));
    KILN_TRY(util::make_dirs(scratch / "work"));
    overlay.upper = (scratch / "upper").string();
    overlay.work = (scratch / "work").string();
  }
  return overlay;
}

int exit_status(const util::ProcessResult& result)
{
  if (result.term_signal != 0)
    return 128 + result.term_signal;
  return result.exit_code;
}

// OUT's disk (or, with `kept_disk`, the disk a failed VM bake kept) booted on a throwaway
// overlay; the session is root's, over SSH.
Expected<int> machine_shell(const ShellOptions& options, const fs::path& scratch,
                            const fs::path& kept_disk = {})
{
  vm::MachineOptions machine_options;
  Expected<fs::path> disk = kept_disk;
  if (kept_disk.empty())
    disk = check::verified_disk(options.out_dir, machine_options.format);
  else if (!fs::is_regular_file(kept_disk))
    return make_error(ExitCode::input, "the kept machine's disk " + kept_disk.string() + " is gone",
                      "build again with --on-error=abort");
  else
    machine_options.format = "qcow2";
  if (!disk)
    return std::move(disk).error();
  machine_options.disk = *disk;
  machine_options.work = vm::machine_dir(scratch);
  machine_options.console_log = scratch / "console.log";
  machine_options.kvm = options.kvm;
  KILN_TRY(util::make_dirs(scratch));
  say(options, "booting " + disk->string() + " (" + (options.kvm ? "KVM" : "TCG") +
                   ") on a throwaway overlay: the disk itself is never written");
  auto machine = vm::Machine::boot(machine_options);
  if (!machine)
    return std::move(machine).error();
  char ready[96];
  std::snprintf(ready, sizeof ready, "kiln: ready after %.1f s%s", (*machine)->ready_seconds(),
                options.command.empty() ? "; exit to power the machine off" : "");
  say(options, ready);
  auto status = (*machine)->ssh().session(options.command);
  (void)(*machine)->power_off();
  return status;
}

} // namespace

Expected<int> open_shell(const ShellOptions& options)
{
  KILN_TRY(check_environment());
  auto cache = LayerCache::open(options.cache_dir);
  if (!cache)
    return std::move(cache).error();
  // A build into OUT takes this lock exclusively: it neither starts nor discards the kept tree
  // while a shell is in it.
  int lock = ::open(image::out::at(options.out_dir, image::out::kLock).c_str(),
                    O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock < 0 || ::flock(lock, LOCK_SH | LOCK_NB) != 0) {
    if (lock >= 0)
      ::close(lock);
    return make_error(ExitCode::environment,
                      "a kiln build is writing to " + options.out_dir.string(),
                      "wait for it to finish");
  }
  fs::path scratch = cache::scratch(options.cache_dir, "shell");
  auto done = [&](Expected<int> result) {
    (void)util::remove_tree(scratch);
    ::close(lock);
    return result;
  };
  if (options.boot)
    return done(machine_shell(options, scratch));
  auto kept = read_kept(options.out_dir);
  if (!kept)
    return done(std::move(kept).error());
  Expected<sandbox::Overlay> overlay = make_error(ExitCode::input, "");
  std::string where;
  if (*kept && (*kept)->machine) {
    say(options, "kiln: the machine kept where step '" + (*kept)->step +
                     "' failed (changes are gone at exit)");
    return done(
        machine_shell(options, scratch, kept_machine_disk(options.cache_dir, options.out_dir)));
  }
  if (*kept) {
    overlay = kept_overlay(options, *cache, **kept);
    where = "the tree kept where step '" + (*kept)->step + "' failed (changes stay in it)";
  } else {
    overlay = image_overlay(options, *cache, scratch);
    where = std::string("the image, ") +
            (options.write ? "writable (changes are gone at exit)" : "read-only");
  }
  if (!overlay)
    return done(std::move(overlay).error());
  sandbox::RunOptions run;
  run.root = scratch / "merged";
  if (Status made = util::make_dirs(run.root); !made)
    return done(std::move(made).error());
  run.overlay = std::move(*overlay);
  run.argv = options.command.empty() ? kLoginShell : options.command;
  for (auto& variable : sandbox::base_environment()) {
    if (variable.rfind("TERM=", 0) != 0)
      run.env.push_back(variable);
  }
  const char* term = std::getenv("TERM");
  run.env.push_back(std::string("TERM=") + (term && *term ? term : "dumb"));
  run.env.push_back("debian_chroot=kiln");
  run.interactive = true;
  say(options, "kiln: " + where + (options.command.empty() ? "; exit to leave" : ""));
  auto result = sandbox::run_in_tree(run, nullptr);
  if (!result)
    return done(std::move(result).error());
  return done(exit_status(*result));
}

} // namespace kiln::bake
