#include "bake/kept.hpp"
#include "bake/shell.hpp"
#include "cli/commands.hpp"

#include <cstdio>
#include <filesystem>

namespace kiln::cli {

namespace {

struct ShellCliOptions {
  std::string out;
  std::string cache_dir;
  bool write = false;
  bool discard = false;
  bool boot = false;
  bool kvm = false;
  std::vector<std::string> command;
};

int run_shell(const ShellCliOptions& options)
{
  auto settings = load_settings({{"cache.dir", options.cache_dir, "--cache-dir"}});
  if (!settings)
    return report(settings.error());
  std::filesystem::path out = std::filesystem::absolute(options.out);
  if (!std::filesystem::is_directory(out))
    return report(make_error(ExitCode::input, out.string() + " is not a folder",
                             "give the output folder of a kiln build"));
  if (options.discard) {
    if (auto discarded = bake::discard_kept(settings->cache_dir, out); !discarded)
      return report(discarded.error());
    std::fprintf(stderr, "kiln: no kept tree is left for %s\n", out.c_str());
    return 0;
  }
  StderrLines said;
  bake::ShellOptions shell{
      out, settings->cache_dir, options.command, options.write, options.boot, options.kvm, &said};
  auto status = bake::open_shell(shell);
  if (!status)
    return report(status.error());
  return *status;
}

} // namespace

Command add_shell(CLI::App& app)
{
  auto options = std::make_shared<ShellCliOptions>();
  auto* sub = app.add_subcommand(
      "shell", "Open a shell in a failed bake's kept tree, or in a finished image (needs root)");
  sub->add_option("out", options->out, "The output folder of a kiln build")->required();
  sub->add_option("command", options->command,
                  "A command to run instead of a login shell (after --)");
  sub->add_option(
      "--cache-dir", options->cache_dir,
      "The cache the image was built with (default: $KILN_CACHE_DIR or /var/cache/kiln)");
  sub->add_flag("--write", options->write,
                "A finished image: writable instead of read-only (the changes are gone at exit)");
  sub->add_flag("--discard", options->discard, "Remove OUT's kept tree and enter nothing");
  sub->add_flag("--boot", options->boot,
                "Boot OUT's disk in QEMU (throwaway overlay) and open the shell over SSH");
  sub->add_flag("--kvm", options->kvm, "With --boot: use KVM instead of TCG");
  sub->footer(R"(After `kiln build --on-error=abort` fails, OUT holds a kept tree: the layers the
failed step ran on and that step's changes so far. `kiln shell OUT` enters it in the
same sandbox a step runs in (private namespaces, outbound network only); what you
change there stays in the kept tree until the next build into OUT discards it.
For builder: vm, the failed bake keeps the machine's disk instead: `kiln shell OUT`
boots it (on a throwaway overlay) and opens a root shell in it over SSH.
Without a kept tree, it opens OUT's finished image, unpacked from its verified
rootfs.tar.zst: read-only unless --write, and never changing OUT. With --boot it
boots OUT's disk (raw or qcow2) under OVMF on a throwaway overlay, as the boot test
does, and opens a root shell over SSH; the machine is powered off when you leave.
The exit status is the shell's (or the command's).

Examples:
  sudo kiln build image.yaml --on-error=abort
  sudo kiln shell out/linux-agent                       # where the step failed
  sudo kiln shell out/linux-agent -- dpkg -l 'dotnet*'  # one command in the image
  sudo kiln shell out/linux-agent --write               # try a change, then throw it away
  sudo kiln shell out/linux-agent --boot -- systemctl --failed   # in the booted disk
  sudo kiln shell out/linux-agent --discard             # drop the kept tree)");
  return {sub, [options] { return run_shell(*options); }};
}

} // namespace kiln::cli
