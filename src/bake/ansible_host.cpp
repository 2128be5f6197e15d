#include "bake/ansible_host.hpp"

#include "sandbox/sandbox.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"
#include "util/strings.hpp"

#include <cstdlib>

namespace kiln::bake {

namespace fs = std::filesystem;

namespace {

std::string host_variable(const char* name, const std::string& fallback)
{
  const char* value = std::getenv(name);
  return value && *value ? value : fallback;
}

} // namespace

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

std::vector<std::string> playbook_argv(const spec::Definition& definition,
                                       const spec::AnsibleStep& ansible)
{
  std::vector<std::string> argv = {"ansible-playbook"};
  if (!ansible.tags.empty())
    argv.insert(argv.end(), {"--tags", util::join(ansible.tags, ",")});
  argv.push_back((definition.dir / ansible.playbook).string());
  return argv;
}

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

} // namespace kiln::bake
