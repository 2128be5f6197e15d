#include "bake/ansible.hpp"

#include "bake/ansible_host.hpp"
#include "bake/commands.hpp"
#include "bake/ssh_runner.hpp"
#include "sandbox/sandbox.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"
#include "util/strings.hpp"

#include <nlohmann/json.hpp>

namespace kiln::bake {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A host folder of the step's, writable inside the tree while kiln's own commands run.
constexpr const char* kStateDir = "/run/kiln/state";

// The inventory: one host, the image, reached through the chroot connection; or, for the VM
// builder, the machine over SSH through its socket (the controller has no network).
std::string inventory(const spec::AnsibleStep& ansible, const StepContext& context)
{
  std::string host = "[" + ansible.group + "]\n" + context.definition.name;
  if (!context.machine)
    return host + " ansible_host=" + context.tree.string() +
           " ansible_connection=community.general.chroot"
           " ansible_python_interpreter=/usr/bin/python3\n";
  const auto& target = context.machine->ssh().target();
  return host + " ansible_host=kiln-machine ansible_user=" + target.user +
         " ansible_ssh_private_key_file=" + (context.scratch / "ssh-key").string() +
         " ansible_become=true ansible_python_interpreter=/usr/bin/python3"
         " ansible_ssh_common_args='-o ProxyCommand=\"" +
         vm::proxy_command(target) +
         "\" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o "
         "ControlMaster=no'\n";
}

// The playbook over SSH (builder: vm): the command's binds and secrets put in the machine, the
// controller confined as for a tree, with the machine's socket and a copy of the key.
Expected<util::ProcessResult> play_in_machine(const TreeCommand& command,
                                              const StepContext& context, StepLog& log,
                                              AnsibleOutput& output)
{
  const auto& target = context.machine->ssh().target();
  fs::path key = context.scratch / "ssh-key";
  std::error_code ec;
  fs::copy_file(target.key, key, fs::copy_options::overwrite_existing, ec);
  if (ec)
    return errno_error("cannot copy", target.key.string(), ec.value());
  fs::permissions(key, fs::perms::owner_read | fs::perms::owner_write);
  KILN_TRY(context.machine->attach(command, log));
  sandbox::RunOptions options;
  options.argv = command.argv;
  options.env = command.extra_env;
  options.network = sandbox::Network::none;
  options.controller_root = command.controller_root;
  options.host_binds = command.host_binds;
  options.host_binds.push_back({target.socket.parent_path(), "", true}); // the socket alone
  log.note("run beside the machine: " + util::shell_join(command.argv));
  auto ran = sandbox::run_in_controller(options, &output);
  fs::remove(key);
  Status detached = context.machine->detach(command, log);
  if (ran && ran->interrupted_by == 0 && !detached)
    return std::move(detached).error();
  return ran;
}

// Writes the inventory, the variables and the build's apt settings into the step's scratch
// folder; returns the options that pass them to ansible-playbook.
Expected<std::vector<std::string>> write_play_files(const spec::AnsibleStep& ansible,
                                                    const StepContext& context)
{
  const fs::path& scratch = context.scratch;
  KILN_TRY(util::write_file_atomic(scratch / "inventory.ini", inventory(ansible, context)));
  json kiln_vars = {{"kiln_image", context.definition.name},
                    {"kiln_version", context.definition.version}};
  if (!context.secrets.empty())
    kiln_vars["kiln_secrets_dir"] =
        context.machine ? "/run/secrets" : (context.tree / "run/secrets").string();
  KILN_TRY(util::write_file_atomic(scratch / "kiln-vars.json", kiln_vars.dump()));
  std::vector<std::string> options = {"--inventory", (scratch / "inventory.ini").string(),
                                      "--extra-vars", "@" + (scratch / "kiln-vars.json").string()};
  if (!ansible.extra_vars.empty()) {
    // Later --extra-vars win: the definition's own come after kiln's.
    KILN_TRY(util::write_file_atomic(scratch / "extra-vars.json", ansible.extra_vars, 0600));
    options.insert(options.end(), {"--extra-vars", "@" + (scratch / "extra-vars.json").string()});
  }
  std::string apt;
  for (const auto& [name, value] : build_apt_proxies())
    apt += name + " \"" + value + "\";\n";
  KILN_TRY(util::write_file_atomic(scratch / "apt-build.conf", apt));
  return options;
}

Status play(const spec::AnsibleStep& ansible, const StepContext& context, StepLog& log)
{
  std::vector<std::string> argv = playbook_argv(context.definition, ansible);
  auto options = write_play_files(ansible, context);
  if (!options)
    return std::move(options).error();
  argv.insert(argv.begin() + 1, options->begin(), options->end());
  auto has_proxy_file =
      exit_code_in_image(context, {"/bin/sh", "-c", std::string("test -e ") + kAptProxyFile}, log);
  if (!has_proxy_file)
    return std::move(has_proxy_file).error();
  auto env = ansible_environment(context.definition, ansible, context.scratch);
  if (!env)
    return std::move(env).error();
  return with_package_cache(context, log, [&](std::vector<sandbox::Bind> binds) -> Status {
    // The build host's apt proxy settings in place of the image's, for this run only.
    if (*has_proxy_file == 0)
      binds.push_back({context.scratch / "apt-build.conf", kAptProxyFile});
    TreeCommand command = tree_command(context, argv, binds);
    // The controller sees the host's programs, the definition's folder (read-only), its own
    // scratch folder and the tree: not the host's other files, keys, stores or kiln's cache.
    command.chroot = false;
    command.controller_root = context.scratch / "controller";
    KILN_TRY(util::make_dirs(command.controller_root));
    command.host_binds = {{context.definition.dir, "", false}, {context.scratch, "", true}};
    command.extra_env.insert(command.extra_env.end(), env->begin(), env->end());
    AnsibleOutput output(log);
    auto result = context.machine ? play_in_machine(command, context, log, output)
                                  : run_tree_command(command, log, &output);
    if (!result)
      return std::move(result).error();
    if (result->interrupted_by != 0)
      return make_error(ExitCode::interrupted, "ansible-playbook " + result->describe());
    if (result->success())
      return ok_status();
    std::string summary = output.summary();
    return make_error(ExitCode::build_failed,
                      summary.empty() ? "ansible-playbook ended with " + result->describe()
                                      : summary);
  });
}

// Lists the installed packages into $1 (one name a line, sorted).
const char* kListPackages =
    R"sh(dpkg-query -W -f '${db:Status-Abbrev} ${Package}\n' | awk '$1 == "ii" { print $2 }' |
  sort > "$1")sh";

// Removes what only served the run: python3 and python3-apt (Ansible's apt module installs it)
// when the step added them, with whatever came in only for them. Anything the playbook installed
// that needs python keeps it. $1: the package list from before the step; then apt options.
const char* kRemoveHelpers = R"sh(before=$1; shift
state=$(dirname "$before")
dpkg-query -W -f '${db:Status-Abbrev} ${Package}\n' | awk '$1 == "ii" { print $2 }' |
  sort > "$state/after"
comm -13 "$before" "$state/after" > "$state/new"
helpers=$(grep -x -e python3 -e python3-apt "$state/new" || true)
if [ -n "$helpers" ]; then apt-mark auto $helpers >/dev/null; fi
apt-get -s "$@" autoremove | sed -n 's/^Remv \([^ ]*\).*/\1/p' | sort > "$state/unneeded"
comm -12 "$state/unneeded" "$state/new" > "$state/remove"
if [ -s "$state/remove" ]; then
  apt-get "$@" -o Dpkg::Use-Pty=0 purge -y $(cat "$state/remove")
fi
if dpkg-query -W -f '${db:Status-Abbrev}' python3 2>/dev/null | grep -q '^ii'; then
  echo "python3 stays in the image: packages the playbook installed need it"
fi)sh";

} // namespace

Status run_ansible(const spec::AnsibleStep& ansible, const StepContext& context, StepLog& log)
{
  fs::path state = context.scratch / "state";
  KILN_TRY(util::make_dirs(state));
  std::vector<sandbox::Bind> state_bind = {{state, kStateDir, true}};
  auto python = exit_code_in_image(context, {"/bin/sh", "-c", "command -v python3"}, log);
  if (!python)
    return std::move(python).error();
  bool install_python = *python != 0;
  bool remove_python = install_python && !ansible.keep_python;
  const std::string before = std::string(kStateDir) + "/before";
  if (remove_python) {
    KILN_TRY(context.runner->run(
        tree_command(context, {"/bin/sh", "-eu", "-c", kListPackages, "kiln-list", before},
                     state_bind),
        log));
  }
  if (install_python) {
    log.note(std::string("python3 is not in the image: installing it for Ansible") +
             (remove_python ? ", to remove after the run" : " (keep_python: true)"));
    KILN_TRY(install_packages({"python3"}, context, log));
  }
  KILN_TRY(play(ansible, context, log));
  if (!remove_python)
    return ok_status();
  std::vector<std::string> argv = {"/bin/sh", "-eu", "-c", kRemoveHelpers, "kiln-remove", before};
  for (auto& arg : build_apt_options())
    argv.push_back(std::move(arg));
  TreeCommand remove = tree_command(context, argv, state_bind);
  remove.display = "remove python3, installed only for Ansible";
  return context.runner->run(remove, log);
}

} // namespace kiln::bake
