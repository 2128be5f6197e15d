// Commands in a running machine over SSH (OpenSSH's client, a connection per command: a shared
// control master outlives the command and keeps kiln's process group waiting). The one transport to
// a machine: the boot test uses it now; a VM builder, a cloud builder and `kiln shell` on a machine
// are meant to use it too.
#pragma once

#include "util/error.hpp"
#include "util/process.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace kiln::vm {

struct SshTarget {
  std::filesystem::path socket; // a Unix socket that leads to the machine's sshd (socat)
  std::string user;             // who logs in; sudo makes kiln's commands root's
  std::filesystem::path key;    // the private key
};

// The ssh options that reach `target` through its socket (a ProxyCommand; for Ansible too).
std::string proxy_command(const SshTarget& target);

struct RemoteRun {
  int exit_code = 0;
  bool timed_out = false;
  std::string stdout_text;
  std::string stderr_text;
};

class SshTransport {
public:
  SshTransport(SshTarget target, std::filesystem::path scratch);

  // Runs `command` with sh -c as root (sudo), or as `user` in a login session (su -l).
  // Exit code 255 is SSH's own failure.
  Expected<RemoteRun> run(const std::string& command, const std::string& user = "",
                          double timeout_seconds = 60) const;

  // Runs `command` with sh -c as root, its stdin the file `input` ("" : /dev/null), its output
  // lines (stdout and stderr) to `observer` (a build log). For the VM builder's steps and uploads.
  Expected<util::ProcessResult> stream(const std::string& command, util::ProcessObserver* observer,
                                       const std::filesystem::path& input = {}) const;

  const SshTarget& target() const { return target_; }

  // Waits until a command runs, up to `timeout_seconds`; an error says why the last try failed
  // (e.g. "Permission denied (publickey)").
  Status wait_until_up(double timeout_seconds) const;

  // The ssh command line a person can paste to get a shell.
  std::string shell_command() const;

  // Runs `command` as root (or, when empty, a root login shell) on kiln's own terminal, with a
  // pty when stdin is one; returns its exit status. For `kiln shell OUT --boot`.
  Expected<int> session(const std::vector<std::string>& command) const;

private:
  std::vector<std::string> ssh_argv() const;

  SshTarget target_;
  std::filesystem::path scratch_;
};

// A new ed25519 key pair in `dir` (KEY and KEY.pub), for one run; returns the public key line.
Expected<std::string> make_one_time_key(const std::filesystem::path& key);

} // namespace kiln::vm
