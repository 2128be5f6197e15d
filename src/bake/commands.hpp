// Running commands for a build phase: on the host in private namespaces, or inside the tree.
// Both log the command (shown with --verbose) and stream its output into the phase's log.
#pragma once

#include "bake/step_log.hpp"
#include "sandbox/sandbox.hpp"
#include "util/error.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace kiln::bake {

struct TreeCommand {
  std::filesystem::path tree;
  std::optional<sandbox::Overlay> overlay; // when set, `tree` is where the layers are mounted
  std::vector<std::string> argv;
  std::vector<std::string> extra_env;
  std::vector<sandbox::Bind> binds;
  std::string display; // what --verbose shows instead of argv; "" shows argv
  std::vector<std::pair<std::string, std::string>> secret_files; // name, value
  // false: argv runs beside the prepared tree, with only extra_env as environment, in a root of
  // its own made in the empty folder `controller_root`, where the host folders `host_binds` are
  // at their own paths (sandbox/controller.hpp).
  bool chroot = true;
  sandbox::Network network = sandbox::Network::isolated;
  std::filesystem::path controller_root = {};
  std::vector<sandbox::Bind> host_binds = {};
};

// Runs inside the tree; a non-zero exit becomes an Error that names the command.
Status run_in_tree(const TreeCommand& command, StepLog& log);

// Runs inside the tree (or beside it) and returns how the process ended. Output lines go to
// `observer` when given (which should pass them on to the log), else to the log.
Expected<util::ProcessResult> run_tree_command(const TreeCommand& command, StepLog& log,
                                               util::ProcessObserver* observer = nullptr);

// Runs inside the tree and returns its exit code, whatever it is.
Expected<int> exit_code_in_tree(const TreeCommand& command, StepLog& log);

// How a step's commands reach its tree: the sandbox in a build (sandbox_runner), a recorder in
// unit tests, so that what a step kind asks for can be checked without root.
class TreeRunner {
public:
  virtual ~TreeRunner() = default;
  virtual Status run(const TreeCommand& command, StepLog& log) = 0; // as run_in_tree
  virtual Expected<int> exit_code(const TreeCommand& command, StepLog& log) = 0;
};

// run_in_tree and exit_code_in_tree, behind TreeRunner.
TreeRunner& sandbox_runner();

// Runs on the host in private namespaces (for mmdebstrap).
Status run_on_host(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                   StepLog& log);

} // namespace kiln::bake
