#include "bake/vm_build.hpp"

#include "bake/ssh_runner.hpp"
#include "bake/step_context.hpp"
#include "bake/steps.hpp"
#include "sandbox/unpack.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"
#include "vm/machine.hpp"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln::bake {

namespace fs = std::filesystem;

namespace {

// The root file system as tar, written to the capture disk (not through SSH: its encryption in
// an emulated CPU is five times slower): one file system (not /proc, /sys, /dev, /run or the
// ESP, which the disk exporter makes), numeric owners, extended attributes (file capabilities).
// What only this boot made is left out (cloud-init's state, logs and the network files it wrote
// for this machine's NIC); generalize removes the rest of a boot's traces (machine-id, host keys).
// $1: the capture device.
const char* kCapture =
    "tar --create --file=\"$1\" --one-file-system --numeric-owner --xattrs "
    "--xattrs-include='*' --directory=/ --exclude=./tmp/* --exclude=./var/tmp/* "
    "--exclude=./lost+found --exclude=./var/log/journal/* --exclude=./var/log/cloud-init*.log "
    "--exclude=./var/lib/cloud --exclude=./var/lib/systemd/timers "
    "--exclude=./var/cache/apt/archives/*.deb --exclude=./root/.ansible "
    "--exclude=./etc/network/interfaces.d/50-cloud-init "
    "--exclude=./etc/udev/rules.d/70-persistent-net.rules .; code=$?; sync; exit $code";

// The capture disk holds the tar: the base disk's size (the most the guest's root can hold) and
// room for the archive's headers.
constexpr uint64_t kCaptureMargin = 256ull << 20;

Status make_capture_disk(const fs::path& file, uint64_t size)
{
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return errno_error("cannot create", file.string(), errno);
  int failed = ::ftruncate(fd, static_cast<off_t>(size)) != 0 ? errno : 0;
  ::close(fd);
  if (failed)
    return errno_error("cannot size", file.string(), failed);
  return ok_status();
}

// What the guest wrote to a sparse file, in MiB.
double written_mib(const fs::path& file)
{
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0)
    return 0;
  return static_cast<double>(st.st_blocks) * 512 / (1 << 20);
}

// kiln's login, made by cloud-init from the NoCloud seed (vm/machine.cpp), is no part of the
// image: the user, its sudo rule, and the one-time key cloud-init also gave root (refused).
const char* kRemoveLogin = R"sh(user=$1
if getent passwd "$user" >/dev/null; then userdel --remove "$user" 2>/dev/null || userdel "$user"; fi
rm -f /etc/sudoers.d/90-cloud-init-users
keys=/root/.ssh/authorized_keys
if [ -f "$keys" ] && [ ! -L "$keys" ]; then
  sed -i '/kiln-one-time/d' "$keys"
  if [ ! -s "$keys" ]; then rm -f "$keys"; fi
fi)sh";

Status run_steps(const VmBuild& build, vm::Machine& machine, StepLog& log)
{
  SshRunner runner(machine.ssh(), build.scratch / "ssh");
  const auto& steps = build.definition.steps;
  for (size_t i = 0; i < steps.size(); ++i) {
    const spec::Step& step = steps[i];
    log.note("step " + std::to_string(i + 1) + "/" + std::to_string(steps.size()) + " '" +
             step.name + "' (" + step.kind() + ") in the machine");
    fs::path scratch = build.scratch / ("step-" + std::to_string(i));
    KILN_TRY(util::make_dirs(scratch));
    StepContext context{build.definition,
                        build.inputs,
                        "/",
                        {},
                        scratch,
                        build.source_date_epoch,
                        nullptr, // apt in the machine fetches its own packages
                        {},
                        step.secret_env,
                        false,
                        &runner,
                        &runner};
    for (const auto& name : step.secrets)
      context.secrets.emplace_back(name, build.secrets.at(name));
    Status status = run_step(step, context, log);
    (void)util::remove_tree(scratch);
    if (!status) {
      Error error = std::move(status).error();
      error.message = "step '" + step.name + "' in the machine: " + error.message;
      return error;
    }
    if (step.reboot) {
      log.note("rebooting the machine (reboot: true)");
      KILN_TRY(machine.reboot());
    }
  }
  return ok_status();
}

Status capture(const VmBuild& build, vm::Machine& machine, StepLog& log)
{
  fs::path archive = build.scratch / "capture.raw";
  log.note("capturing the machine's root file system");
  auto start = std::chrono::steady_clock::now();
  auto ran = machine.ssh().stream(
      util::shell_join({"sh", "-c", kCapture, "kiln-capture", vm::kCaptureDevice}), &log);
  if (!ran)
    return std::move(ran).error();
  if (ran->interrupted_by != 0)
    return make_error(ExitCode::interrupted, "interrupted while capturing the machine");
  // tar's exit code 1: a file changed while it was read (a log); the tree is still whole.
  if (ran->term_signal != 0 || (ran->exit_code != 0 && ran->exit_code != 1))
    return make_error(ExitCode::build_failed,
                      "capturing the machine's root file system failed: tar " + ran->describe());
  char took[96];
  std::snprintf(took, sizeof took, "captured %.1f MiB in %.1f s", written_mib(archive),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  log.note(took);
  KILN_TRY(machine.power_off());
  log.note("unpacking the captured tree");
  Status unpacked = sandbox::extract_confined(archive, build.tree, 0, true, &log);
  fs::remove(archive);
  KILN_TRY(std::move(unpacked));
  TreeCommand remove;
  remove.tree = build.tree;
  remove.argv = {"/bin/sh", "-eu", "-c", kRemoveLogin, "kiln-remove-login", vm::kGuestUser};
  remove.network = sandbox::Network::none;
  remove.display = "remove kiln's login (" + std::string(vm::kGuestUser) + ") from the image";
  return run_in_tree(remove, log);
}

} // namespace

Status build_in_vm(const VmBuild& build, StepLog& log)
{
  const BaseDisk& disk = *build.inputs.base_disk;
  KILN_TRY(util::make_dirs(build.scratch));
  vm::MachineOptions options;
  options.capture_disk = build.scratch / "capture.raw";
  KILN_TRY(make_capture_disk(options.capture_disk, disk.virtual_size + kCaptureMargin));
  options.disk = disk.path;
  options.format = disk.format;
  options.work = vm::machine_dir(build.scratch);
  options.kvm = build.kvm;
  options.console_log = build.console_log;
  options.keep_identity = true;
  log.note("booting " + disk.path.string() + (build.kvm ? " (KVM)" : " (TCG)"));
  auto machine = vm::Machine::boot(options);
  if (!machine)
    return std::move(machine).error();
  log.note("the machine is up after " + std::to_string((*machine)->ready_seconds()) + " s");
  Status ran = run_steps(build, **machine, log);
  if (!ran && !build.keep_disk.empty() && ran.error().code != ExitCode::interrupted) {
    if (Status kept = (*machine)->keep_disk(build.keep_disk); !kept)
      log.note("the machine's disk could not be kept: " + kept.error().message);
  }
  KILN_TRY(std::move(ran));
  return capture(build, **machine, log);
}

} // namespace kiln::bake
