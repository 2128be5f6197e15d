#include "util/process.hpp"

#include "util/interrupt.hpp"
#include "util/strings.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace kiln::util {

std::string ProcessResult::describe() const
{
  if (interrupted_by != 0)
    return std::string("interrupted by ") + strsignal(interrupted_by);
  if (timed_out)
    return "timed out";
  if (term_signal != 0)
    return std::string("killed by signal ") + std::to_string(term_signal) + " (" +
           strsignal(term_signal) + ")";
  return "exit code " + std::to_string(exit_code);
}

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void child_fail(int error_fd, const std::string& message)
{
  [[maybe_unused]] ssize_t ignored = ::write(error_fd, message.data(), message.size());
  ::_exit(127);
}

std::vector<char*> c_strings(const std::vector<std::string>& strings)
{
  std::vector<char*> out;
  for (const auto& s : strings)
    out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

[[noreturn]] void exec_child(const ProcessSpec& spec, int error_fd)
{
  if (spec.in_child) {
    std::string failure = spec.in_child();
    if (!failure.empty())
      child_fail(error_fd, failure);
  }
  if (spec.child_main) {
    ::close(error_fd);
    std::fflush(nullptr);
    int code = spec.child_main();
    std::fflush(nullptr);
    ::_exit(code);
  }
  auto argv = c_strings(spec.argv);
  if (spec.env) {
    auto envp = c_strings(*spec.env);
    ::execvpe(argv[0], argv.data(), envp.data());
  } else {
    ::execvp(argv[0], argv.data());
  }
  child_fail(error_fd, "cannot run " + spec.argv[0] + ": " + std::strerror(errno));
}

// Waits for the command and exits with its status, so that the parent sees it as its own.
[[noreturn]] void proxy_for(pid_t pid)
{
  // Nothing kiln had open (a lock on OUT, the cache) stays held by the proxy.
  ::close_range(3, ~0U, 0);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status))
    ::_exit(128 + WTERMSIG(status));
  ::_exit(WEXITSTATUS(status));
}

// The child dies with the process that forked it, even when that one is killed with SIGKILL and
// cannot clean up: kiln's children, and in a PID namespace the command under its proxy.
void die_with_parent(pid_t parent)
{
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent)
    ::_exit(128 + SIGKILL);
}

// Makes `group` the terminal's foreground process group, when stdin is a terminal.
void take_terminal(pid_t group)
{
  if (!::isatty(STDIN_FILENO))
    return;
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTTOU); // a background group may not set it otherwise
  ::sigprocmask(SIG_BLOCK, &block, &old);
  ::tcsetpgrp(STDIN_FILENO, group);
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
}

void redirect_output(const ProcessSpec& spec, int output_fd)
{
  int null_fd = ::open("/dev/null", O_RDONLY);
  ::dup2(null_fd, STDIN_FILENO);
  ::dup2(output_fd, STDOUT_FILENO);
  if (spec.discard_stderr) {
    int null_out = ::open("/dev/null", O_WRONLY);
    ::dup2(null_out, STDERR_FILENO);
  } else {
    ::dup2(output_fd, STDERR_FILENO);
  }
}

[[noreturn]] void start_child(const ProcessSpec& spec, pid_t parent, int output_fd, int error_fd)
{
  die_with_parent(parent);
  ::setpgid(0, 0);
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  signal(SIGHUP, SIG_DFL);
  if (spec.interactive) {
    take_terminal(::getpgrp());
  } else {
    redirect_output(spec, output_fd);
  }
  // Only stdin, stdout and stderr reach the command: whatever kiln inherited or opened goes at
  // exec. (Some programs care: mmdebstrap hands apt a descriptor that dash can only use below 10.)
  ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  if (spec.before_namespaces) {
    std::string failure = spec.before_namespaces();
    if (!failure.empty())
      child_fail(error_fd, failure);
  }
  if (spec.namespaces != 0 && ::unshare(spec.namespaces) != 0)
    child_fail(error_fd, std::string("cannot create namespaces (unshare): ") +
                             std::strerror(errno) + " (run kiln as root)");
  if (spec.namespaces & CLONE_NEWPID) {
    pid_t pid = ::fork();
    if (pid < 0)
      child_fail(error_fd, std::string("cannot fork: ") + std::strerror(errno));
    if (pid > 0) {
      ::close(error_fd);
      proxy_for(pid);
    }
    // The command is PID 1 of its namespace, whose parent (the proxy) it cannot name: no check.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  }
  exec_child(spec, error_fd);
}

class OutputSplitter {
public:
  explicit OutputSplitter(ProcessObserver* observer) : observer_(observer) {}
  void feed(const char* data, size_t size)
  {
    for (size_t i = 0; i < size; ++i) {
      char c = data[i];
      if (c == '\n' || c == '\r') {
        flush();
      } else {
        line_ += c;
      }
    }
  }
  void flush()
  {
    if (!line_.empty() && observer_)
      observer_->on_line(line_);
    line_.clear();
  }

private:
  ProcessObserver* observer_;
  std::string line_;
};

struct Waiter {
  pid_t pid;
  int output_fd;
  ProcessObserver* observer;
  double timeout_seconds;

  ProcessResult wait()
  {
    ProcessResult result;
    OutputSplitter splitter(observer);
    auto start = Clock::now();
    bool exited = false;
    int status = 0;
    std::optional<Clock::time_point> drain_deadline;
    bool output_open = true;
    while (output_open) {
      struct pollfd fds[2] = {{output_fd, POLLIN, 0}, {interrupt_fd(), POLLIN, 0}};
      int n = ::poll(fds, interrupt_fd() >= 0 ? 2 : 1, 200);
      if (n < 0 && errno != EINTR)
        break;
      if (n > 0 && (fds[0].revents & (POLLIN | POLLHUP))) {
        char buffer[8192];
        ssize_t got = ::read(output_fd, buffer, sizeof buffer);
        if (got > 0)
          splitter.feed(buffer, static_cast<size_t>(got));
        else if (got == 0 || (errno != EINTR && errno != EAGAIN))
          output_open = false;
      }
      if (observer)
        observer->on_tick();
      if (!exited && ::waitpid(pid, &status, WNOHANG) == pid) {
        exited = true;
        // A background process may still hold the pipe; give it a moment, then stop reading.
        drain_deadline = Clock::now() + std::chrono::seconds(2);
      }
      if (drain_deadline && Clock::now() > *drain_deadline)
        break;
      if (!exited && interrupt_signal() != 0) {
        result.interrupted_by = interrupt_signal();
        break;
      }
      double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      if (!exited && timeout_seconds > 0 && elapsed > timeout_seconds) {
        result.timed_out = true;
        break;
      }
    }
    splitter.flush();
    // The output can close a moment before the command exits: wait for its exit status rather
    // than kill it (up to its timeout).
    while (!exited && !result.timed_out && result.interrupted_by == 0) {
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        exited = true;
        break;
      }
      if (interrupt_signal() != 0)
        result.interrupted_by = interrupt_signal();
      double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      if (timeout_seconds > 0 && elapsed > timeout_seconds)
        result.timed_out = true;
      if (!exited)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    // Whatever is left of the process group goes now; a PID-namespace init takes its whole
    // namespace with it.
    ::kill(-pid, SIGKILL);
    if (!exited) {
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
    if (WIFSIGNALED(status)) {
      result.term_signal = WTERMSIG(status);
    } else {
      result.exit_code = WEXITSTATUS(status);
      // The namespace proxy reports a signal death of the command as 128+N.
      if (result.exit_code > 128 && result.exit_code < 128 + 65 &&
          (result.timed_out || result.interrupted_by))
        result.term_signal = result.exit_code - 128;
    }
    return result;
  }
};

} // namespace

Expected<ProcessResult> run_process(const ProcessSpec& spec, ProcessObserver* observer)
{
  if (spec.argv.empty())
    return make_error(ExitCode::build_failed, "run_process: empty command");
  int output_pipe[2];
  int error_pipe[2];
  if (::pipe2(output_pipe, O_CLOEXEC) != 0)
    return errno_error("cannot create pipe for", spec.argv[0], errno);
  if (::pipe2(error_pipe, O_CLOEXEC) != 0) {
    int err = errno;
    ::close(output_pipe[0]);
    ::close(output_pipe[1]);
    return errno_error("cannot create pipe for", spec.argv[0], err);
  }
  std::fflush(nullptr); // so that a child never writes kiln's pending output a second time
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    for (int fd : {output_pipe[0], output_pipe[1], error_pipe[0], error_pipe[1]})
      ::close(fd);
    return errno_error("cannot fork for", spec.argv[0], err);
  }
  if (pid == 0) {
    ::close(output_pipe[0]);
    ::close(error_pipe[0]);
    start_child(spec, parent, output_pipe[1], error_pipe[1]);
  }
  ::setpgid(pid, pid);
  ::close(output_pipe[1]);
  ::close(error_pipe[1]);

  Waiter waiter{pid, output_pipe[0], observer, spec.timeout_seconds};
  ProcessResult result = waiter.wait();
  ::close(output_pipe[0]);
  if (spec.interactive)
    take_terminal(::getpgrp()); // the terminal is kiln's again

  std::string setup_failure;
  char buffer[1024];
  ssize_t got;
  while ((got = ::read(error_pipe[0], buffer, sizeof buffer)) > 0)
    setup_failure.append(buffer, static_cast<size_t>(got));
  ::close(error_pipe[0]);
  if (!setup_failure.empty() && result.interrupted_by == 0)
    return make_error(ExitCode::environment, setup_failure);
  return result;
}

namespace {
struct Collector : ProcessObserver {
  size_t max_bytes = 0;
  std::string text;
  bool overflowed = false;
  void on_line(std::string_view line) override
  {
    if (overflowed || text.size() + line.size() + 1 > max_bytes) {
      overflowed = true; // the rest is read and dropped, so the child is not blocked on the pipe
      return;
    }
    text += line;
    text += '\n';
  }
};
} // namespace

Expected<std::string> capture_output(const std::vector<std::string>& argv, int* exit_code,
                                     size_t max_bytes)
{
  Collector collector;
  collector.max_bytes = max_bytes;
  ProcessSpec spec;
  spec.argv = argv;
  spec.timeout_seconds = 60;
  auto result = run_process(spec, &collector);
  if (!result)
    return std::move(result).error();
  if (collector.overflowed)
    return make_error(ExitCode::input, "'" + argv.front() + "' wrote more than " +
                                           std::to_string(max_bytes) + " bytes");
  if (exit_code)
    *exit_code = result->success() ? 0 : (result->exit_code ? result->exit_code : 1);
  return collector.text;
}

std::string find_program(std::string_view name)
{
  const char* path = std::getenv("PATH");
  for (const auto& dir : split(path ? path : "/usr/sbin:/usr/bin:/sbin:/bin", ':')) {
    std::string candidate = dir + "/" + std::string(name);
    if (::access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  return {};
}

} // namespace kiln::util

namespace kiln::util {

Expected<int> start_background(const std::vector<std::string>& argv,
                               const std::filesystem::path& log,
                               const std::function<std::string()>& in_child)
{
  std::vector<std::string> words = argv;
  std::vector<char*> args;
  for (auto& word : words)
    args.push_back(word.data());
  args.push_back(nullptr);
  std::string log_path = log.string();
  int parent = ::getpid();
  int pid = ::fork();
  if (pid < 0)
    return errno_error("cannot start", argv.at(0), errno);
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL); // never outlives kiln
    if (::getppid() != parent)
      ::_exit(127);
    ::setpgid(0, 0); // a Ctrl-C reaches kiln, which stops it
    int out = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    ::dup2(null, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    if (in_child) {
      std::string error = in_child();
      if (!error.empty()) {
        error += "\n";
        (void)!::write(out, error.data(), error.size());
        ::_exit(126);
      }
    }
    ::close_range(3, ~0U, 0);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

bool background_alive(int& pid)
{
  if (pid <= 0)
    return false;
  if (::waitpid(pid, nullptr, WNOHANG) == 0)
    return true;
  pid = -1;
  return false;
}

void stop_background(int& pid)
{
  if (pid > 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  pid = -1;
}

} // namespace kiln::util
