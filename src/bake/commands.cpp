#include "bake/commands.hpp"

#include "util/strings.hpp"

namespace kiln::bake {

namespace {

Status check(const Expected<util::ProcessResult>& result, const std::vector<std::string>& argv,
             StepLog& log)
{
  if (!result)
    return result.error();
  if (result->interrupted_by != 0)
    return make_error(ExitCode::interrupted, argv[0] + " " + result->describe());
  if (!result->success()) {
    log.note(argv[0] + " ended with " + result->describe());
    return make_error(ExitCode::build_failed, argv[0] + " ended with " + result->describe());
  }
  return ok_status();
}

} // namespace

Expected<util::ProcessResult> run_tree_command(const TreeCommand& command, StepLog& log,
                                               util::ProcessObserver* observer)
{
  std::string shown = command.display.empty() ? util::shell_join(command.argv) : command.display;
  log.note((command.chroot ? "run in image: " : "run beside the image: ") + shown);
  log.command(shown);
  sandbox::RunOptions options;
  options.root = command.tree;
  options.overlay = command.overlay;
  options.argv = command.argv;
  if (command.chroot)
    options.env = sandbox::base_environment();
  options.env.insert(options.env.end(), command.extra_env.begin(), command.extra_env.end());
  options.binds = command.binds;
  options.secret_files = command.secret_files;
  options.chroot = command.chroot;
  options.network = command.network;
  options.controller_root = command.controller_root;
  options.host_binds = command.host_binds;
  return sandbox::run_in_tree(options, observer ? observer : &log);
}

Status run_in_tree(const TreeCommand& command, StepLog& log)
{
  return check(run_tree_command(command, log), command.argv, log);
}

Expected<int> exit_code_in_tree(const TreeCommand& command, StepLog& log)
{
  log.note("ask the image: " + util::shell_join(command.argv));
  sandbox::RunOptions options;
  options.root = command.tree;
  options.overlay = command.overlay;
  options.argv = command.argv;
  options.env = sandbox::base_environment();
  auto result = sandbox::run_in_tree(options, &log);
  if (!result)
    return std::move(result).error();
  if (result->interrupted_by != 0)
    return make_error(ExitCode::interrupted, command.argv[0] + " " + result->describe());
  return result->term_signal ? 128 + result->term_signal : result->exit_code;
}

namespace {

class SandboxRunner : public TreeRunner {
public:
  Status run(const TreeCommand& command, StepLog& log) override
  {
    return run_in_tree(command, log);
  }
  Expected<int> exit_code(const TreeCommand& command, StepLog& log) override
  {
    return exit_code_in_tree(command, log);
  }
};

} // namespace

TreeRunner& sandbox_runner()
{
  static SandboxRunner runner;
  return runner;
}

Status run_on_host(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                   StepLog& log)
{
  std::string shown = util::shell_join(argv);
  log.note("run: " + shown);
  log.command(shown);
  util::ProcessSpec spec;
  spec.argv = argv;
  spec.env = env;
  return check(sandbox::run_isolated(spec, &log), argv, log);
}

} // namespace kiln::bake
