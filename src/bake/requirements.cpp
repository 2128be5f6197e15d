#include "bake/requirements.hpp"

#include "security/baseline.hpp"
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

// Writes CONTENT to DEST in the image (through a scratch file and the copy every step uses).
Status write_in_image(const StepContext& context, const std::string& dest,
                      const std::string& content, const std::string& mode, StepLog& log)
{
  fs::path file = context.scratch / ("file-" + std::to_string(std::hash<std::string>{}(dest)));
  KILN_TRY(util::write_file_atomic(file, content, 0644));
  return copy_into_image(context, file, dest, "0:0", mode, log);
}

// Appends CONTENT to DEST in the image; the script is fixed, the data arrives as a file.
Status append_in_image(const StepContext& context, const std::string& dest,
                       const std::string& content, StepLog& log)
{
  fs::path file = context.scratch / ("append-" + std::to_string(std::hash<std::string>{}(dest)));
  KILN_TRY(util::write_file_atomic(file, content, 0644));
  std::string staged = "/var/tmp/kiln-append";
  KILN_TRY(copy_into_image(context, file, staged, "0:0", "0644", log));
  KILN_TRY(run_in_image(
      context,
      {"/bin/sh", "-eu", "-c", "cat \"$1\" >> \"$2\"; rm \"$1\"", "kiln-append", staged, dest},
      log));
  return ok_status();
}

Status apply_proxy(const spec::Network& network, const StepContext& context, StepLog& log)
{
  std::string https = network.https_proxy.empty() ? network.proxy : network.https_proxy;
  std::string no_proxy = util::join(network.no_proxy, ",");
  std::string profile = "# Written by kiln from requirements.network.\n";
  std::string environment;
  auto set = [&](const std::string& name, const std::string& value) {
    if (value.empty())
      return;
    for (const auto& variable : {name, util::upper(name)}) {
      profile += "export " + variable + "=\"" + value + "\"\n";
      environment += variable + "=\"" + value + "\"\n";
    }
  };
  set("http_proxy", network.proxy);
  set("https_proxy", https);
  set("no_proxy", no_proxy);
  // The shell reads profile.d; services and the agent (through pam_env) read /etc/environment.
  KILN_TRY(write_in_image(context, "/etc/profile.d/kiln-proxy.sh", profile, "0644", log));
  KILN_TRY(append_in_image(context, "/etc/environment", environment, log));
  std::string apt;
  if (!network.proxy.empty())
    apt += "Acquire::http::Proxy \"" + network.proxy + "\";\n";
  if (!https.empty())
    apt += "Acquire::https::Proxy \"" + https + "\";\n";
  for (const auto& host : network.no_proxy) {
    if (host.front() != '.' && host.find('/') == std::string::npos)
      apt += "Acquire::http::Proxy::" + host + " \"DIRECT\";\n";
  }
  return write_in_image(context, kAptProxyFile, apt, "0644", log);
}

// /etc/resolv.conf is the build host's while steps run (bound read-only over the image's), so the
// image's own is written into the layer from outside.
Status apply_dns(const spec::Network& network, const StepContext& context, StepLog& log)
{
  std::string content = "# Written by kiln from requirements.network.\n";
  for (const auto& server : network.dns)
    content += "nameserver " + server + "\n";
  if (!network.search.empty())
    content += "search " + util::join(network.search, " ") + "\n";
  fs::path etc = context.overlay.base_dir / context.overlay.upper / "etc";
  KILN_TRY(util::make_dirs(etc));
  fs::remove(etc / "resolv.conf");
  log.note("writing /etc/resolv.conf");
  return util::write_file_atomic(etc / "resolv.conf", content, 0644);
}

Status apply_certificates(const spec::Network& network, const StepContext& context, StepLog& log)
{
  auto has_tool =
      exit_code_in_image(context, {"test", "-x", "/usr/sbin/update-ca-certificates"}, log);
  if (!has_tool)
    return std::move(has_tool).error();
  if (*has_tool != 0)
    KILN_TRY(install_packages({"ca-certificates"}, context, log));
  int number = 0;
  for (const auto& file : network.ca_certificates) {
    std::string name = "kiln-" + std::to_string(++number) + "-" + fs::path(file).stem().string();
    KILN_TRY(copy_into_image(context, context.definition.dir / file,
                             "/usr/local/share/ca-certificates/" + name + ".crt", "0:0", "0644",
                             log));
  }
  return run_in_image(context, {"update-ca-certificates"}, log);
}

Status apply_network(const spec::Network& network, const StepContext& context, StepLog& log)
{
  if (!network.proxy.empty() || !network.https_proxy.empty() || !network.no_proxy.empty())
    KILN_TRY(apply_proxy(network, context, log));
  if (!network.hosts.empty()) {
    std::string lines;
    for (const auto& host : network.hosts)
      lines += host.ip + " " + util::join(host.names, " ") + "\n";
    KILN_TRY(append_in_image(context, "/etc/hosts", lines, log));
  }
  if (!network.ca_certificates.empty())
    KILN_TRY(apply_certificates(network, context, log));
  if (!network.dns.empty() || !network.search.empty())
    KILN_TRY(apply_dns(network, context, log));
  return ok_status();
}

// Sets KEY to VALUE in /etc/login.defs: the active line is replaced, or one is added. The script
// is fixed; key and value arrive as arguments.
const char* kSetLoginDefs = R"sh(key=$1 value=$2
if grep -Eq "^[[:space:]]*$key[[:space:]]" /etc/login.defs; then
  sed -i -E "s/^[[:space:]]*$key[[:space:]].*/$key $value/" /etc/login.defs
else
  printf '%s %s\n' "$key" "$value" >> /etc/login.defs
fi)sh";

Status apply_security(const spec::Security& security, const StepContext& context, StepLog& log)
{
  auto changes = security::changes(security.waive);
  for (const auto& [path, content] : changes.files)
    KILN_TRY(write_in_image(context, path, content, "0644", log));
  for (const auto& [key, value] : changes.login_defs) {
    KILN_TRY(run_in_image(
        context, {"/bin/sh", "-eu", "-c", kSetLoginDefs, "kiln-login-defs", key, value}, log));
  }
  for (const auto& change : changes.modes) {
    KILN_TRY(run_in_image(context, {"chown", change.owner, change.path}, log));
    KILN_TRY(run_in_image(context, {"chmod", change.mode, change.path}, log));
  }
  if (!changes.masked_services.empty()) {
    // Masking does not need systemd running: a unit linked to /dev/null in /etc cannot start,
    // even if its package is installed by a later step.
    std::vector<std::string> argv = {
        "/bin/sh", "-eu", "-c",
        "mkdir -p /etc/systemd/system; for unit in \"$@\"; do "
        "ln -sfn /dev/null \"/etc/systemd/system/$unit.service\"; done",
        "kiln-mask"};
    argv.insert(argv.end(), changes.masked_services.begin(), changes.masked_services.end());
    KILN_TRY(run_in_image(context, argv, log));
  }
  log.note("security baseline " + security.baseline + " applied, " +
           std::to_string(security.waive.size()) + " rules waived");
  return ok_status();
}

// Extra filesystems are found by label at boot; nofail keeps a machine without them booting.
Status apply_storage(const spec::Storage& storage, const StepContext& context, StepLog& log)
{
  std::string lines;
  for (const auto& mount : storage.mounts) {
    KILN_TRY(run_in_image(context, {"mkdir", "-p", mount.path}, log));
    lines += "LABEL=" + mount.label + " " + mount.path + " " + mount.fs + " defaults,nofail 0 2\n";
  }
  if (!lines.empty())
    KILN_TRY(append_in_image(context, "/etc/fstab", lines, log));
  return ok_status();
}

std::string lower(std::string text)
{
  for (auto& c : text)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// The first-boot join: the deployment leaves the join password at `credential` (on a tmpfs, by
// cloud-init or SSM); the unit joins once, then removes it. Values are quoted: they come from the
// definition, validated, never from a secret.
std::string join_script(const spec::Domain& d)
{
  std::string ou =
      d.computer_ou.empty() ? "" : " --computer-ou=" + util::shell_quote(d.computer_ou);
  return "#!/bin/sh\n"
         "# Joins " +
         d.realm +
         " at first boot (written by kiln from requirements.domain).\n"
         "set -eu\n"
         "credential=" +
         util::shell_quote(d.credential) +
         "\n"
         "if [ ! -s \"$credential\" ]; then\n"
         "  echo \"kiln-domain-join: no join credential at $credential\" >&2\n"
         "  exit 1\n"
         "fi\n"
         "realm join --unattended --user=" +
         util::shell_quote(d.join_user) + ou + " " + util::shell_quote(d.realm) +
         " < \"$credential\"\n"
         "mkdir -p /var/lib/kiln\n"
         "touch /var/lib/kiln/domain-joined\n"
         "rm -f \"$credential\"\n";
}

Status apply_domain(const spec::Domain& domain, const StepContext& context, StepLog& log)
{
  KILN_TRY(install_packages(
      {"realmd", "sssd", "sssd-tools", "adcli", "krb5-user", "libnss-sss", "libpam-sss"}, context,
      log));
  KILN_TRY(write_in_image(context, "/etc/krb5.conf",
                          "[libdefaults]\n    default_realm = " + domain.realm +
                              "\n    dns_lookup_realm = false\n    dns_lookup_kdc = true\n"
                              "    rdns = false\n",
                          "0644", log));
  KILN_TRY(write_in_image(context, "/etc/realmd.conf",
                          "[service]\nautomatic-install = no\n\n[" + lower(domain.realm) +
                              "]\nfully-qualified-names = no\n",
                          "0644", log));
  KILN_TRY(write_in_image(context, "/usr/local/sbin/kiln-domain-join", join_script(domain), "0755",
                          log));
  KILN_TRY(run_in_image(context, {"sh", "-n", "/usr/local/sbin/kiln-domain-join"}, log));
  std::string unit = "[Unit]\nDescription=Join the " + domain.realm +
                     " Active Directory realm (kiln)\n"
                     "Wants=network-online.target\nAfter=network-online.target\n"
                     "ConditionPathExists=!/var/lib/kiln/domain-joined\n\n"
                     "[Service]\nType=oneshot\nExecStart=/usr/local/sbin/kiln-domain-join\n"
                     "RemainAfterExit=yes\n\n[Install]\nWantedBy=multi-user.target\n";
  KILN_TRY(
      write_in_image(context, "/etc/systemd/system/kiln-domain-join.service", unit, "0644", log));
  // Enabled the way systemctl enable would, without a running systemd.
  return run_in_image(context,
                      {"/bin/sh", "-eu", "-c",
                       "mkdir -p /etc/systemd/system/multi-user.target.wants && ln -sfn "
                       "/etc/systemd/system/kiln-domain-join.service "
                       "/etc/systemd/system/multi-user.target.wants/kiln-domain-join.service"},
                      log);
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
  KILN_TRY(apply_network(requirements.network, context, log));
  KILN_TRY(apply_storage(requirements.storage, context, log));
  if (!requirements.domain.empty())
    KILN_TRY(apply_domain(requirements.domain, context, log));
  if (!requirements.security.baseline.empty())
    KILN_TRY(apply_security(requirements.security, context, log));
  return ok_status();
}

} // namespace kiln::bake
