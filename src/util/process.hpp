// The one way kiln starts a child process.
//
// An argv vector (never a shell string), stdin from /dev/null, stdout and stderr merged into one
// pipe that is read line by line, its own process group, an optional timeout, and the child is
// killed when kiln receives SIGINT/SIGTERM. With `namespaces` set the child first unshares them;
// with CLONE_NEWPID the command runs as PID 1 of a new PID namespace, so killing it takes every
// process it started down with it, and the private mount namespace dies with them.
#pragma once

#include "util/error.hpp"

#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::util {

class ProcessObserver {
public:
  virtual ~ProcessObserver() = default;
  virtual void on_line(std::string_view line) = 0; // a line of output, without its terminator
  virtual void on_tick() {}                        // called a few times a second while waiting
};

struct ProcessSpec {
  std::vector<std::string> argv;
  std::optional<std::vector<std::string>> env; // nullopt: inherit kiln's environment
  int namespaces = 0;                          // CLONE_NEW* flags
  // Runs in the child before it unshares `namespaces`, still in the host's PID namespace (to set
  // up what must be started from outside, such as a network namespace's helper). Returns "" on
  // success or a message that becomes the Error of run_process.
  std::function<std::string()> before_namespaces;
  // Runs in the child just before exec (inside the namespaces). Returns "" on success or a
  // message that becomes the Error of run_process. Must only use async-signal-safe work in
  // spirit: kiln is single-threaded when it starts children, so plain code is acceptable.
  std::function<std::string()> in_child;
  // When set, the child runs this function instead of exec'ing argv and exits with its result
  // (argv[0] then only names the work in messages). Used to run kiln's own code inside
  // namespaces, e.g. to read a tree that only exists as an overlay mount.
  std::function<int()> child_main;
  double timeout_seconds = 0;  // 0: none
  bool discard_stderr = false; // only stdout is read (for commands whose output is a value)
  // The child keeps kiln's stdin, stdout and stderr and, on a terminal, becomes its foreground
  // process group until it exits (so that Ctrl-C reaches it, not kiln): for `kiln shell`. The
  // observer then sees no lines.
  bool interactive = false;
};

struct ProcessResult {
  int exit_code = -1;  // valid when term_signal == 0
  int term_signal = 0; // the signal that ended the child, if any
  bool timed_out = false;
  int interrupted_by = 0; // SIGINT/SIGTERM received by kiln while waiting

  bool success() const { return term_signal == 0 && exit_code == 0 && !timed_out; }
  std::string describe() const; // "exit code 2", "killed by signal 9", "timed out"
};

Expected<ProcessResult> run_process(const ProcessSpec& spec, ProcessObserver* observer);

// Runs a short command and returns its output (for git and similar look-ups); more than
// `max_bytes` of output is an error.
inline constexpr size_t kMaxCapturedBytes = 16 << 20;
Expected<std::string> capture_output(const std::vector<std::string>& argv, int* exit_code,
                                     size_t max_bytes = kMaxCapturedBytes);

// A helper kiln keeps running while it works (qemu, a socket forwarder): stdin from /dev/null,
// stdout and stderr to `log`, its own process group (a Ctrl-C reaches kiln, which stops it), and
// it dies with kiln, even on SIGKILL (PR_SET_PDEATHSIG). Returns its pid.
// `in_child` runs in the child before exec (e.g. to enter a network namespace); a message it
// returns goes to `log` and the child exits with 126.
Expected<int> start_background(const std::vector<std::string>& argv,
                               const std::filesystem::path& log,
                               const std::function<std::string()>& in_child = {});
// Whether it still runs; once it ended, it is reaped and `pid` becomes -1.
bool background_alive(int& pid);
// SIGKILL, reaped; `pid` becomes -1.
void stop_background(int& pid);

// Where a program is on PATH, or "".
std::string find_program(std::string_view name);

} // namespace kiln::util
