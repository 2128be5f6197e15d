#include "vm/ssh.hpp"

#include "util/fs.hpp"
#include "util/process.hpp"
#include "util/strings.hpp"

#include <chrono>
#include <thread>
#include <unistd.h>

namespace kiln::vm {

namespace fs = std::filesystem;

namespace {

// Keeps what the command prints on stdout, up to 1 MiB.
struct Collect : util::ProcessObserver {
  std::string text;
  void on_line(std::string_view line) override
  {
    if (text.size() < (1 << 20))
      text.append(line).append("\n");
  }
};

} // namespace

std::string proxy_command(const SshTarget& target)
{
  return "socat - UNIX-CONNECT:" + target.socket.string();
}

SshTransport::SshTransport(SshTarget target, fs::path scratch)
    : target_(std::move(target)), scratch_(std::move(scratch))
{
}

std::vector<std::string> SshTransport::ssh_argv() const
{
  return {"ssh",
          "-F",
          "/dev/null",
          "-i",
          target_.key.string(),
          "-o",
          "ProxyCommand=" + proxy_command(target_),
          "-o",
          "IdentitiesOnly=yes",
          "-o",
          "BatchMode=yes",
          "-o",
          "StrictHostKeyChecking=no",
          "-o",
          "UserKnownHostsFile=/dev/null",
          "-o",
          "LogLevel=ERROR",
          "-o",
          "ConnectTimeout=10",
          target_.user + "@kiln-machine"};
}

Expected<RemoteRun> SshTransport::run(const std::string& command, const std::string& user,
                                      double timeout_seconds) const
{
  // su -l, not runuser -l: sudo runs commands on a pty, which runuser's new session loses.
  std::string remote = user.empty() ? "sudo -n sh -c " + util::shell_quote(command)
                                    : "sudo -n su -l " + util::shell_quote(user) + " -c " +
                                          util::shell_quote(command);
  static int counter = 0;
  fs::path err = scratch_ / ("ssh-" + std::to_string(++counter) + ".err");
  // stdout stays on kiln's pipe (run_process ends a command whose output closes); stderr goes
  // to a file, to keep the two apart.
  util::ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", "e=$1; shift; exec \"$@\" 2>\"$e\"", "kiln-ssh", err.string()};
  for (const auto& word : ssh_argv())
    spec.argv.push_back(word);
  spec.argv.push_back(remote);
  spec.timeout_seconds = timeout_seconds;
  Collect out;
  auto ran = util::run_process(spec, &out);
  if (!ran)
    return std::move(ran).error();
  if (ran->interrupted_by != 0)
    return make_error(ExitCode::interrupted, "interrupted while running over SSH: " + command);
  RemoteRun result;
  result.timed_out = ran->timed_out;
  result.exit_code = ran->term_signal ? 128 + ran->term_signal : ran->exit_code;
  result.stdout_text = std::move(out.text);
  auto errors = util::read_file_bounded(err, 1 << 20, "output");
  result.stderr_text = errors ? *errors : "";
  fs::remove(err);
  return result;
}

Expected<util::ProcessResult> SshTransport::stream(const std::string& command,
                                                   util::ProcessObserver* observer,
                                                   const fs::path& input) const
{
  util::ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", "i=$1; shift; exec \"$@\" <\"$i\"", "kiln-ssh",
               input.empty() ? "/dev/null" : input.string()};
  for (const auto& word : ssh_argv())
    spec.argv.push_back(word);
  spec.argv.push_back("sudo -n sh -c " + util::shell_quote(command));
  return util::run_process(spec, observer);
}

Status SshTransport::wait_until_up(double timeout_seconds) const
{
  auto start = std::chrono::steady_clock::now();
  std::string last;
  while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() <
         timeout_seconds) {
    auto ran = run("true", "", 20);
    if (!ran)
      return std::move(ran).error();
    if (ran->exit_code == 0)
      return ok_status();
    last = util::trim_copy(ran->stderr_text);
    if (ran->exit_code != 255 && !ran->timed_out) // SSH worked; the command did not
      return make_error(ExitCode::build_failed,
                        "the machine answered over SSH, but 'sudo -n true' failed (exit code " +
                            std::to_string(ran->exit_code) + "): " + last,
                        "kiln's commands in the machine need sudo for the user cloud-init makes");
    if (last.find("Permission denied") != std::string::npos)
      return make_error(ExitCode::build_failed, "the machine refused kiln's SSH key (" + last + ")",
                        "the image must let cloud-init install the key from the NoCloud seed: "
                        "check its sshd_config and cloud-init settings");
    std::this_thread::sleep_for(std::chrono::seconds(2));
  }
  return make_error(ExitCode::build_failed, "SSH to the machine did not answer within " +
                                                std::to_string(static_cast<int>(timeout_seconds)) +
                                                " s" + (last.empty() ? "" : " (" + last + ")"));
}

std::string SshTransport::shell_command() const
{
  std::vector<std::string> argv = ssh_argv();
  return util::shell_join(argv);
}

Expected<int> SshTransport::session(const std::vector<std::string>& command) const
{
  util::ProcessSpec spec;
  spec.argv = ssh_argv();
  bool terminal = ::isatty(STDIN_FILENO) != 0;
  spec.argv.insert(spec.argv.begin() + 1, terminal ? "-t" : "-T");
  spec.argv.push_back(command.empty()
                          ? "sudo -i"
                          : "sudo -n sh -c " + util::shell_quote(util::shell_join(command)));
  spec.interactive = true;
  auto ran = util::run_process(spec, nullptr);
  if (!ran)
    return std::move(ran).error();
  if (ran->interrupted_by != 0)
    return make_error(ExitCode::interrupted, "interrupted during the SSH session");
  return ran->term_signal ? 128 + ran->term_signal : ran->exit_code;
}

Expected<std::string> make_one_time_key(const fs::path& key)
{
  fs::remove(key);
  fs::remove(key.string() + ".pub");
  int code = 0;
  auto made = util::capture_output(
      {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kiln-one-time", "-f", key.string()},
      &code);
  if (!made || code != 0)
    return make_error(ExitCode::environment,
                      "ssh-keygen could not make a key in " + key.parent_path().string(),
                      "install openssh-client");
  auto pub = util::read_file(key.string() + ".pub");
  if (!pub)
    return std::move(pub).error();
  return util::trim_copy(*pub);
}

} // namespace kiln::vm
