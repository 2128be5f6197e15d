#include "bake/ansible.hpp"

#include "bake/commands.hpp"
#include "bake/requirements.hpp"
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

std::string host_variable(const char* name, const std::string& fallback)
{
  const char* value = std::getenv(name);
  return value && *value ? value : fallback;
}

// The controller's environment, with its scratch files in `scratch`. Commands the chroot
// connection runs in the image inherit it, so it also holds what apt and dpkg need there.
Expected<std::vector<std::string>> ansible_environment(const spec::Definition& definition,
                                                       const spec::AnsibleStep& ansible,
                                                       const fs::path& scratch)
{
  fs::path local_tmp = scratch / "ansible-local";
  KILN_TRY(util::make_dirs(local_tmp));
  // The playbook folder's ansible.cfg applies; the build host's own never does, nor do the roles
  // installed on the build host.
  fs::path config = definition.dir / ansible.folder() / "ansible.cfg";
  if (!fs::exists(config)) {
    config = scratch / "ansible.cfg";
    KILN_TRY(util::write_file_atomic(
        config, "[defaults]\nroles_path = " +
                    (definition.dir / ansible.folder() / "roles").string() + "\n"));
  }
  std::vector<std::string> env = {
      "ANSIBLE_CONFIG=" + config.string(),
      "PATH=" + host_variable("PATH", "/usr/local/bin:/usr/bin:/bin") + ":/usr/sbin:/sbin",
      "HOME=" + host_variable("HOME", "/root"),
      "LANG=C.UTF-8",
      "LC_ALL=C.UTF-8",
      "TERM=dumb",
      "ANSIBLE_NOCOLOR=1",
      "ANSIBLE_FORCE_COLOR=0",
      "ANSIBLE_RETRY_FILES_ENABLED=0",
      "ANSIBLE_STDOUT_CALLBACK=default",
      "ANSIBLE_CALLBACK_RESULT_FORMAT=json",
      "ANSIBLE_LOCALHOST_WARNING=0",
      "ANSIBLE_INVENTORY_UNPARSED_WARNING=0", // kiln gives the one host itself
      "ANSIBLE_LOCAL_TEMP=" + local_tmp.string(),
      // In the image's /tmp, a tmpfs: nothing Ansible copies there reaches a layer.
      "ANSIBLE_REMOTE_TEMP=/tmp/.ansible",
      "PYTHONUNBUFFERED=1",
      "PYTHONDONTWRITEBYTECODE=1",
      "DEBIAN_FRONTEND=noninteractive",
      "DEBCONF_NONINTERACTIVE_SEEN=true",
  };
  if (!ansible.roles_path.empty())
    env.push_back("ANSIBLE_ROLES_PATH=" + (definition.dir / ansible.roles_path).string());
  for (const char* name :
       {"http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"}) {
    if (const char* value = std::getenv(name))
      env.push_back(std::string(name) + "=" + value);
  }
  return env;
}

// Reads Ansible's default output as it streams: passes each line on to the step's log and keeps
// what explains a failure (the failed task's name and message, or Ansible's own ERROR!).
class AnsibleOutput : public util::ProcessObserver {
public:
  explicit AnsibleOutput(StepLog& log) : log_(log) {}

  void on_line(std::string_view line) override
  {
    log_.on_line(line);
    if (line.rfind("TASK [", 0) == 0) {
      size_t end = line.rfind(']');
      task_ = std::string(line.substr(6, end == std::string_view::npos ? end : end - 6));
    } else if ((line.rfind("fatal: [", 0) == 0 || line.rfind("failed: [", 0) == 0) &&
               failure_.empty()) {
      failure_ = "task '" + task_ + "' failed: " + message_of(line);
    } else if ((line.rfind("ERROR! ", 0) == 0 || line.rfind("ERROR: ", 0) == 0) && error_.empty()) {
      error_ = std::string(line.substr(7));
    }
  }
  void on_tick() override { log_.on_tick(); }

  // What went wrong, in one line; "" when nothing was recognised.
  std::string summary() const { return !failure_.empty() ? failure_ : error_; }

private:
  StepLog& log_;
  std::string task_;
  std::string failure_;
  std::string error_;

  // "fatal: [host]: FAILED! => {...}": the result's msg, and the last line of stderr if any.
  static std::string message_of(std::string_view line)
  {
    size_t arrow = line.find("=> {");
    if (arrow == std::string_view::npos)
      return std::string(line);
    json result = json::parse(line.substr(arrow + 3), nullptr, false);
    if (!result.is_object())
      return std::string(line.substr(arrow + 3));
    std::string message = result.value("msg", std::string("(no message)"));
    std::string stderr_raw = result.value("stderr", std::string());
    std::string stderr_text(util::trim(stderr_raw));
    if (!stderr_text.empty())
      message += ": " + stderr_text.substr(stderr_text.rfind('\n') + 1);
    return message;
  }
};

std::vector<std::string> playbook_argv(const spec::Definition& definition,
                                       const spec::AnsibleStep& ansible)
{
  std::vector<std::string> argv = {"ansible-playbook"};
  if (!ansible.tags.empty())
    argv.insert(argv.end(), {"--tags", util::join(ansible.tags, ",")});
  argv.push_back((definition.dir / ansible.playbook).string());
  return argv;
}

// The inventory: one host, the image, reached through the chroot connection.
std::string inventory(const spec::Definition& definition, const spec::AnsibleStep& ansible,
                      const fs::path& tree)
{
  return "[" + ansible.group + "]\n" + definition.name + " ansible_host=" + tree.string() +
         " ansible_connection=community.general.chroot"
         " ansible_python_interpreter=/usr/bin/python3\n";
}

// Writes the inventory, the variables and the build's apt settings into the step's scratch
// folder; returns the options that pass them to ansible-playbook.
Expected<std::vector<std::string>> write_play_files(const spec::AnsibleStep& ansible,
                                                    const StepContext& context)
{
  const fs::path& scratch = context.scratch;
  KILN_TRY(util::write_file_atomic(scratch / "inventory.ini",
                                   inventory(context.definition, ansible, context.tree)));
  json kiln_vars = {{"kiln_image", context.definition.name},
                    {"kiln_version", context.definition.version}};
  if (!context.secrets.empty())
    kiln_vars["kiln_secrets_dir"] = (context.tree / "run/secrets").string();
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
    auto result = run_tree_command(command, log, &output);
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

Expected<std::string> ansible_version()
{
  if (util::find_program("ansible-playbook").empty()) {
    return make_error(ExitCode::environment,
                      "the definition has an ansible step, but ansible-playbook is not installed "
                      "on the build host",
                      "install Debian's ansible package (apt-get install ansible), which brings "
                      "the community.general.chroot connection");
  }
  int code = 0;
  auto text = util::capture_output({"ansible-playbook", "--version"}, &code);
  if (!text)
    return std::move(text).error();
  std::string first = text->substr(0, text->find('\n'));
  if (code != 0 || first.empty())
    return make_error(ExitCode::environment, "ansible-playbook --version failed: " + *text);
  return first;
}

Status check_playbook(const spec::Definition& definition, const spec::Step& step,
                      const fs::path& scratch, StepLog& log)
{
  const auto& ansible = std::get<spec::AnsibleStep>(step.body);
  std::vector<std::string> argv = playbook_argv(definition, ansible);
  argv.insert(argv.begin() + 1, "--syntax-check");
  log.note("run: " + util::shell_join(argv));
  auto env = ansible_environment(definition, ansible, scratch);
  if (!env)
    return std::move(env).error();
  // Loading a playbook may run plugins from its folder (an ansible.cfg names them): confined.
  sandbox::RunOptions options;
  options.argv = argv;
  options.env = std::move(*env);
  options.network = sandbox::Network::none;
  options.controller_root = scratch / "controller";
  KILN_TRY(util::make_dirs(options.controller_root));
  options.host_binds = {{definition.dir, "", false}, {scratch, "", true}};
  AnsibleOutput output(log);
  auto result = sandbox::run_in_controller(options, &output);
  if (!result)
    return std::move(result).error();
  if (result->success())
    return ok_status();
  std::string why = output.summary();
  return make_error(ExitCode::input,
                    "the playbook " + ansible.playbook + " of step '" + step.name +
                        "' does not pass ansible-playbook --syntax-check: " +
                        (why.empty() ? result->describe() : why),
                    "run: ansible-playbook --syntax-check " + ansible.playbook);
}

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
    KILN_TRY(run_in_tree(tree_command(context,
                                      {"/bin/sh", "-eu", "-c", kListPackages, "kiln-list", before},
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
  return run_in_tree(remove, log);
}

} // namespace kiln::bake
