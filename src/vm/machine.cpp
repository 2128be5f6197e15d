#include "vm/machine.hpp"

#include "util/fs.hpp"
#include "util/interrupt.hpp"
#include "util/process.hpp"

#include <arpa/inet.h>
#include <chrono>
#include <csignal>
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
constexpr const char* kGuestUser = "kiln";

Status run_quietly(const std::vector<std::string>& argv, const std::string& what)
{
  int code = 0;
  auto output = util::capture_output(argv, &code);
  if (!output || code != 0)
    return make_error(ExitCode::environment,
                      what + " failed" + (output ? ": " + *output : std::string()));
  return ok_status();
}

// A TCP port on 127.0.0.1 that nothing listens on now.
Expected<int> free_port()
{
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return errno_error("cannot open a socket", "", errno);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0)
    port = ntohs(address.sin_port);
  ::close(fd);
  if (port < 0)
    return errno_error("cannot find a free port on", "127.0.0.1", errno);
  return port;
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
Status write_seed(const fs::path& work, const std::string& public_key, const std::string& marker)
{
  KILN_TRY(util::write_file_atomic(work / "meta-data",
                                   "instance-id: kiln-boot-test\nlocal-hostname: kiln-test\n"));
  KILN_TRY(util::write_file_atomic(work / "user-data", "#cloud-config\n"
                                                       "manage_etc_hosts: true\n"
                                                       "users:\n"
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
                                                           marker + " > /dev/ttyS0']\n"));
  fs::path seed = work / "seed.img";
  KILN_TRY(run_quietly({"mkfs.fat", "-C", "-n", "CIDATA", seed.string(), "2048"},
                       "making the NoCloud seed"));
  return run_quietly({"mcopy", "-i", seed.string(), (work / "meta-data").string(),
                      (work / "user-data").string(), "::/"},
                     "writing the NoCloud seed");
}

bool alive(int pid)
{
  return pid > 0 && ::waitpid(pid, nullptr, WNOHANG) == 0;
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
  if (util::find_program("qemu-system-x86_64").empty() || !fs::exists(kOvmfCode))
    return make_error(ExitCode::environment, "booting a disk needs qemu-system-x86_64 and OVMF",
                      "apt-get install qemu-system-x86 ovmf qemu-utils");
  KILN_TRY(util::remove_tree(work));
  KILN_TRY(util::make_dirs(work));
  auto key = make_one_time_key(work / "key");
  if (!key)
    return std::move(key).error();
  marker_ = "KILN-READY-" + nonce();
  KILN_TRY(write_seed(work, *key, marker_));
  fs::path overlay = work / "overlay.qcow2";
  KILN_TRY(
      run_quietly({"qemu-img", "create", "-q", "-f", "qcow2", "-b",
                   fs::absolute(options_.disk).string(), "-F", options_.format, overlay.string()},
                  "making the copy-on-write overlay of " + options_.disk.string()));
  auto port = free_port();
  if (!port)
    return std::move(port).error();
  port_ = *port;
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
      "user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:" + std::to_string(port_) + "-:22"};
  std::error_code ec;
  fs::copy_file(kOvmfVars, work / "vars.fd", ec); // the firmware's variables, this run's own
  if (ec)
    return errno_error("cannot copy", kOvmfVars, ec.value());
  argv.insert(argv.end(),
              {"-drive", std::string("if=pflash,format=raw,unit=0,readonly=on,file=") + kOvmfCode,
               "-drive", "if=pflash,format=raw,unit=1,file=" + (work / "vars.fd").string()});
  std::string log = (work / "qemu.log").string();
  int parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0)
    return errno_error("cannot start", "qemu-system-x86_64", errno);
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL); // qemu never outlives kiln
    if (::getppid() != parent)
      ::_exit(127);
    ::setpgid(0, 0); // a Ctrl-C reaches kiln, which powers the machine off
    int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    std::vector<char*> args;
    for (auto& word : argv)
      args.push_back(word.data());
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  SshTarget target{"127.0.0.1", port_, kGuestUser, work / "key"};
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
    if (!alive(pid_)) {
      pid_ = -1;
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

Status Machine::power_off(double timeout_seconds)
{
  if (!alive(pid_))
    return ok_status();
  (void)ssh_->run("systemctl poweroff", "", 20);
  auto start = Clock::now();
  while (alive(pid_)) {
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
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  pid_ = -1;
}

Machine::~Machine()
{
  kill_qemu();
  (void)util::remove_tree(options_.work);
}

} // namespace kiln::vm
