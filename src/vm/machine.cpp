#include "vm/machine.hpp"

#include "sandbox/network.hpp"
#include "util/fs.hpp"
#include "util/interrupt.hpp"
#include "util/process.hpp"

#include <arpa/inet.h>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <random>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace kiln::vm {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kOvmfCode = "/usr/share/OVMF/OVMF_CODE_4M.fd";
constexpr const char* kOvmfVars = "/usr/share/OVMF/OVMF_VARS_4M.fd";

Status run_quietly(const std::vector<std::string>& argv, const std::string& what)
{
  int code = 0;
  auto output = util::capture_output(argv, &code);
  if (!output || code != 0)
    return make_error(ExitCode::environment,
                      what + " failed" + (output ? ": " + *output : std::string()));
  return ok_status();
}

// The port sshd is forwarded to inside the machine's own network namespace.
constexpr int kSshPort = 2222;

// Runs in qemu's child before exec: a network namespace of its own, set up as a step's
// (slirp4netns: outbound only, no host loopback, no 169.254.0.0/16, so no metadata service),
// and in it socat, which carries connections from `socket` (a file, reachable from kiln's
// namespace) to the forwarded sshd. socat dies with qemu.
std::string enter_machine_network(const std::string& socket, const std::string& log)
{
  if (auto error = sandbox::enter_network(sandbox::Network::isolated); !error.empty())
    return error;
  pid_t forwarder = ::fork();
  if (forwarder < 0)
    return std::string("cannot start socat: ") + std::strerror(errno);
  if (forwarder == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ::dup2(out, 1);
    ::dup2(out, 2);
    ::close_range(3, ~0U, 0);
    std::string listen = "UNIX-LISTEN:" + socket + ",fork,mode=600";
    std::string connect = "TCP:127.0.0.1:" + std::to_string(kSshPort);
    const char* argv[] = {"socat", listen.c_str(), connect.c_str(), nullptr};
    ::execvp(argv[0], const_cast<char* const*>(argv));
    ::_exit(127);
  }
  return {};
}

std::string nonce()
{
  std::random_device random;
  char text[17];
  std::snprintf(text, sizeof text, "%08x%08x", random(), random());
  return text;
}

// The NoCloud seed: a FAT volume labelled CIDATA with meta-data and user-data. The guest gets a
// sudoer with the one-time key, and prints the marker on its serial console once cloud-init's
// last stage runs (after multi-user.target's services started).
Status write_seed(const fs::path& work, const std::string& public_key, const std::string& marker,
                  bool keep_identity)
{
  std::string meta = keep_identity ? "instance-id: kiln-build\n"
                                   : "instance-id: kiln-boot-test\nlocal-hostname: kiln-test\n";
  std::string user_data = "#cloud-config\n";
  user_data += keep_identity ? "preserve_hostname: true\n" : "manage_etc_hosts: true\n";
  user_data += "users:\n"
               "  - name: " +
               std::string(kGuestUser) +
               "\n"
               "    sudo: 'ALL=(ALL) NOPASSWD:ALL'\n"
               "    shell: /bin/sh\n"
               "    ssh_authorized_keys: ['" +
               public_key +
               "']\n"
               "runcmd:\n"
               "  - [sh, -c, 'echo " +
               marker + " > /dev/ttyS0']\n";
  KILN_TRY(util::write_file_atomic(work / "meta-data", meta));
  KILN_TRY(util::write_file_atomic(work / "user-data", user_data));
  fs::path seed = work / "seed.img";
  KILN_TRY(run_quietly({"mkfs.fat", "-C", "-n", "CIDATA", seed.string(), "2048"},
                       "making the NoCloud seed"));
  return run_quietly({"mcopy", "-i", seed.string(), (work / "meta-data").string(),
                      (work / "user-data").string(), "::/"},
                     "writing the NoCloud seed");
}

} // namespace

fs::path machine_dir(const fs::path& parent)
{
  return parent / ("machine-" + std::to_string(::getpid()));
}

std::string console_tail(const fs::path& log, int lines)
{
  auto text = util::read_file(log);
  if (!text)
    return "";
  size_t at = text->size();
  for (int i = 0; i <= lines && at > 0; ++i) {
    size_t newline = text->rfind('\n', at - 1);
    if (newline == std::string::npos) {
      at = 0;
      break;
    }
    at = newline;
  }
  std::string tail = text->substr(at);
  std::string clean; // the console speaks in terminal escapes and carriage returns
  for (char c : tail) {
    if (c == '\n' || (c >= 0x20 && c < 0x7f))
      clean += c;
  }
  return clean;
}

Expected<std::unique_ptr<Machine>> Machine::boot(const MachineOptions& options)
{
  std::unique_ptr<Machine> machine(new Machine());
  machine->options_ = options;
  KILN_TRY(machine->start());
  KILN_TRY(machine->wait_ready());
  return machine;
}

Status Machine::start()
{
  const fs::path& work = options_.work;
  if (util::find_program("qemu-system-x86_64").empty() || !fs::exists(kOvmfCode) ||
      util::find_program("socat").empty())
    return make_error(ExitCode::environment,
                      "booting a disk needs qemu-system-x86_64, OVMF and socat",
                      "apt-get install qemu-system-x86 ovmf qemu-utils socat");
  KILN_TRY(util::remove_tree(work));
  KILN_TRY(util::make_dirs(work));
  auto key = make_one_time_key(work / "key");
  if (!key)
    return std::move(key).error();
  marker_ = "KILN-READY-" + nonce();
  KILN_TRY(write_seed(work, *key, marker_, options_.keep_identity));
  fs::path overlay = work / "overlay.qcow2";
  KILN_TRY(
      run_quietly({"qemu-img", "create", "-q", "-f", "qcow2", "-b",
                   fs::absolute(options_.disk).string(), "-F", options_.format, overlay.string()},
                  "making the copy-on-write overlay of " + options_.disk.string()));
  fs::remove(options_.console_log);
  std::vector<std::string> argv = {
      "qemu-system-x86_64",
      "-machine",
      "q35",
      "-accel",
      options_.kvm ? "kvm" : "tcg",
      "-m",
      std::to_string(options_.memory_mib),
      "-smp",
      std::to_string(options_.cpus),
      "-nographic",
      "-monitor",
      "none",
      "-serial",
      "file:" + options_.console_log.string(),
      "-drive",
      "file=" + overlay.string() + ",if=virtio,format=qcow2",
      "-drive",
      "file=" + (work / "seed.img").string() + ",if=virtio,format=raw",
      "-nic",
      "user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:" + std::to_string(kSshPort) + "-:22"};
  if (!options_.capture_disk.empty())
    argv.insert(argv.end(),
                {"-drive",
                 "file=" + options_.capture_disk.string() + ",if=none,id=capture,format=raw",
                 "-device", "virtio-blk-pci,drive=capture,serial=kiln-capture"});
  std::error_code ec;
  fs::copy_file(kOvmfVars, work / "vars.fd", ec); // the firmware's variables, this run's own
  if (ec)
    return errno_error("cannot copy", kOvmfVars, ec.value());
  argv.insert(argv.end(),
              {"-drive", std::string("if=pflash,format=raw,unit=0,readonly=on,file=") + kOvmfCode,
               "-drive", "if=pflash,format=raw,unit=1,file=" + (work / "vars.fd").string()});
  KILN_TRY(util::make_dirs(work / "ssh")); // a folder of its own: Ansible's controller binds it
  std::string socket = (work / "ssh" / "sock").string();
  std::string socat_log = (work / "socat.log").string();
  auto started = util::start_background(argv, work / "qemu.log",
                                        [&] { return enter_machine_network(socket, socat_log); });
  if (!started)
    return std::move(started).error();
  pid_ = *started;
  SshTarget target{socket, kGuestUser, work / "key"};
  ssh_ = std::make_unique<SshTransport>(target, work);
  return ok_status();
}

Status Machine::wait_ready()
{
  auto start = Clock::now();
  auto failed = [&](const std::string& why, ExitCode code) {
    Error error = make_error(code, why);
    error.detail = "last lines of the serial console (" + options_.console_log.string() + "):\n" +
                   console_tail(options_.console_log);
    return error;
  };
  while (true) {
    double waited = std::chrono::duration<double>(Clock::now() - start).count();
    if (auto console = util::read_file(options_.console_log);
        console && console->find(marker_) != std::string::npos) {
      ready_seconds_ = waited;
      break;
    }
    if (util::interrupt_signal() != 0)
      return failed("interrupted while the machine was booting", ExitCode::interrupted);
    if (!util::background_alive(pid_)) {
      auto log = util::read_file(options_.work / "qemu.log");
      return failed("qemu stopped before the machine was ready" +
                        (log && !log->empty() ? ": " + *log : std::string()),
                    ExitCode::build_failed);
    }
    if (waited > options_.ready_timeout)
      return failed("the machine gave no ready signal within " +
                        std::to_string(static_cast<int>(options_.ready_timeout)) + " s",
                    ExitCode::build_failed);
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return ssh_->wait_until_up(120);
}

Status Machine::reboot()
{
  const char* boot_id = "cat /proc/sys/kernel/random/boot_id";
  auto before = ssh_->run(boot_id, "", 20);
  if (!before)
    return std::move(before).error();
  (void)ssh_->run("systemctl reboot", "", 20); // the connection may drop before it answers
  auto start = Clock::now();
  while (true) {
    std::this_thread::sleep_for(std::chrono::seconds(2));
    if (util::interrupt_signal() != 0)
      return make_error(ExitCode::interrupted, "interrupted while the machine was rebooting");
    if (!util::background_alive(pid_)) {
      return make_error(ExitCode::build_failed, "qemu stopped while the machine was rebooting",
                        "see the serial console: " + options_.console_log.string());
    }
    auto now = ssh_->run(boot_id, "", 20);
    if (!now)
      return std::move(now).error();
    if (now->exit_code == 0 && now->stdout_text != before->stdout_text)
      break;
    if (std::chrono::duration<double>(Clock::now() - start).count() > options_.ready_timeout) {
      Error error = make_error(ExitCode::build_failed,
                               "the machine did not come back over SSH within " +
                                   std::to_string(static_cast<int>(options_.ready_timeout)) +
                                   " s of a reboot");
      error.detail = "last lines of the serial console (" + options_.console_log.string() + "):\n" +
                     console_tail(options_.console_log);
      return error;
    }
  }
  // Until the services a step enabled have started; "degraded" is the image's own business.
  auto settled = ssh_->run("systemctl is-system-running --wait", "", options_.ready_timeout);
  if (!settled)
    return std::move(settled).error();
  return ok_status();
}

Status Machine::keep_disk(const fs::path& dest)
{
  KILN_TRY(power_off());
  KILN_TRY(util::make_dirs(dest.parent_path()));
  fs::path overlay = options_.work / "overlay.qcow2";
  if (::rename(overlay.c_str(), dest.c_str()) != 0)
    return errno_error("cannot keep", overlay.string(), errno);
  return ok_status();
}

Status Machine::power_off(double timeout_seconds)
{
  if (!util::background_alive(pid_))
    return ok_status();
  if (util::interrupt_signal() != 0) { // kiln is stopping: no SSH runs now, no waiting either
    kill_qemu();
    return make_error(ExitCode::interrupted, "interrupted: the machine was stopped");
  }
  (void)ssh_->run("systemctl poweroff", "", 20);
  auto start = Clock::now();
  while (util::background_alive(pid_)) {
    if (std::chrono::duration<double>(Clock::now() - start).count() > timeout_seconds) {
      kill_qemu();
      return make_error(ExitCode::build_failed, "the machine did not power off within " +
                                                    std::to_string(int(timeout_seconds)) +
                                                    " s; qemu was stopped");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  pid_ = -1;
  return ok_status();
}

void Machine::kill_qemu()
{
  util::stop_background(pid_);
}

Machine::~Machine()
{
  kill_qemu();
  (void)util::remove_tree(options_.work);
}

} // namespace kiln::vm
