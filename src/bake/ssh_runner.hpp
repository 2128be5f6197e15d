// How a step's commands reach a booted machine (builder: vm): over SSH, as root, through the
// one transport to machines (vm/ssh.hpp). A TreeCommand means the same as in the sandbox: its
// binds are copied to their paths in the machine for the command (what they hide is put aside
// and back), its secret files are on /run/secrets for the command only, its environment is the
// sandbox's plus its own.
#pragma once

#include "bake/commands.hpp"
#include "vm/ssh.hpp"

#include <filesystem>

namespace kiln::bake {

class SshRunner : public TreeRunner {
public:
  SshRunner(const vm::SshTransport& ssh, std::filesystem::path scratch);

  Status run(const TreeCommand& command, StepLog& log) override;
  Expected<int> exit_code(const TreeCommand& command, StepLog& log) override;

  // The command's binds and secret files put in place, and taken away again; for a tool that
  // works on the machine from the host (Ansible over SSH).
  Status attach(const TreeCommand& command, StepLog& log);
  Status detach(const TreeCommand& command, StepLog& log);

  const vm::SshTransport& ssh() const { return ssh_; }

private:
  Expected<util::ProcessResult> execute(const TreeCommand& command, StepLog& log);
  Status upload(const sandbox::Bind& bind, size_t index, StepLog& log);
  // Runs a script of kiln's (given through stdin, so that no value in it is in an argv).
  Status run_script(const std::string& script, const std::string& what, StepLog& log);

  const vm::SshTransport& ssh_;
  std::filesystem::path scratch_;
};

} // namespace kiln::bake
