#include "bake/requirements.hpp"

#include "util/fs.hpp"
#include "util/strings.hpp"

namespace kiln::bake {

namespace fs = std::filesystem;

namespace {

Status create_groups(const spec::Requirements& requirements, const StepContext& context,
                     StepLog& log)
{
  for (const auto& group : requirements.groups) {
    std::vector<std::string> argv = {"groupadd", "-f"};
    if (group.gid)
      argv.insert(argv.end(), {"-g", std::to_string(*group.gid)});
    argv.push_back(group.name);
    KILN_TRY(run_in_image(context, argv, log));
  }
  // Supplementary groups a user names but nobody declared are created plainly.
  for (const auto& user : requirements.users) {
    for (const auto& group : user.groups)
      KILN_TRY(run_in_image(context, {"groupadd", "-f", group}, log));
  }
  return ok_status();
}

Status create_user(const spec::User& user, const StepContext& context, StepLog& log)
{
  auto exists = exit_code_in_image(context, {"id", "-u", user.name}, log);
  if (!exists)
    return std::move(exists).error();
  std::vector<std::string> argv;
  if (*exists == 0) {
    argv = {"usermod"};
    if (!user.groups.empty())
      argv.insert(argv.end(), {"-a", "-G", util::join(user.groups, ",")});
    if (!user.home.empty())
      argv.insert(argv.end(), {"-d", user.home, "-m"});
  } else {
    argv = {"useradd", "--create-home"};
    if (!user.groups.empty())
      argv.insert(argv.end(), {"--groups", util::join(user.groups, ",")});
    if (!user.home.empty())
      argv.insert(argv.end(), {"--home-dir", user.home});
  }
  if (user.uid)
    argv.insert(argv.end(), {"-u", std::to_string(*user.uid)});
  if (!user.shell.empty())
    argv.insert(argv.end(), {"-s", user.shell});
  argv.push_back(user.name);
  return run_in_image(context, argv, log);
}

Status write_sudo_rule(const spec::User& user, const StepContext& context, StepLog& log)
{
  fs::path rule = context.scratch / ("sudo-" + user.name);
  KILN_TRY(util::write_file_atomic(rule, user.name + " " + user.sudo + "\n", 0440));
  std::string dest = "/etc/sudoers.d/kiln-" + user.name;
  KILN_TRY(copy_into_image(context, rule, dest, "0:0", "0440", log));
  Status checked = run_in_image(context, {"visudo", "-c", "-f", dest}, log);
  if (checked)
    return checked;
  return make_error(ExitCode::build_failed,
                    "the sudo rule for user '" + user.name + "' does not parse: " + user.sudo,
                    "fix requirements.users (" + user.name +
                        ") sudo; visudo's complaint is in the log lines above");
}

Status write_authorized_keys(const spec::User& user, const StepContext& context, StepLog& log)
{
  fs::path keys = context.scratch / ("keys-" + user.name);
  KILN_TRY(util::write_file_atomic(keys, util::join(user.authorized_keys, "\n") + "\n", 0600));
  std::string ssh_dir = user.home_dir() + "/.ssh";
  KILN_TRY(
      copy_into_image(context, keys, ssh_dir + "/authorized_keys", user.name + ":", "0600", log));
  KILN_TRY(run_in_image(context, {"chown", user.name + ":", ssh_dir}, log));
  return run_in_image(context, {"chmod", "0700", ssh_dir}, log);
}

bool any_sudo(const spec::Requirements& requirements)
{
  for (const auto& user : requirements.users) {
    if (!user.sudo.empty())
      return true;
  }
  return false;
}

} // namespace

Status apply_requirements(const spec::Requirements& requirements, const StepContext& context,
                          StepLog& log)
{
  KILN_TRY(create_groups(requirements, context, log));
  for (const auto& user : requirements.users)
    KILN_TRY(create_user(user, context, log));
  if (any_sudo(requirements)) {
    auto has_visudo = exit_code_in_image(context, {"test", "-x", "/usr/sbin/visudo"}, log);
    if (!has_visudo)
      return std::move(has_visudo).error();
    if (*has_visudo != 0)
      KILN_TRY(install_packages({"sudo"}, context, log)); // sudo rules need sudo
  }
  for (const auto& user : requirements.users) {
    if (!user.sudo.empty())
      KILN_TRY(write_sudo_rule(user, context, log));
    if (!user.authorized_keys.empty())
      KILN_TRY(write_authorized_keys(user, context, log));
  }
  return ok_status();
}

} // namespace kiln::bake
