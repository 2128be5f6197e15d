#include "spec/fields.hpp"

#include <stdexcept>

namespace kiln::spec {

const std::vector<Shape>& shapes()
{
  using T = FieldType;
  static const std::vector<Shape> all = {
      {"definition",
       "A kiln image definition (format v1).",
       {
           {"name", T::string, true, "Image name: lowercase letters, digits and '-'."},
           {"version", T::string, true, "Semantic version 2.0.0, e.g. 1.4.0."},
           {"base", T::object, true, "Where the root filesystem starts from.", "base"},
           {"builder", T::string, false,
            "tree (default: steps run in a sandbox on the tree) or vm (steps run over SSH in a "
            "machine booted from base: {disk: ...})."},
           {"steps", T::step_list, true, "What to do to the tree, in order."},
           {"outputs", T::string_list, false, "What to write; default [rootfs]."},
           {"secrets", T::secrets, false,
            "Named secrets, resolved on the build host; steps list the ones they use."},
           {"requirements", T::object, false, "What the image must provide.", "requirements"},
           {"tests", T::object_list, false, "Checks on the finished tree, after the last step.",
            "test"},
           {"report", T::object_list, false,
            "Tools whose versions the software report lists, each found by a command.",
            "report_item"},
       }},
      {"report_item",
       "A tool in the software report.",
       {
           {"name", T::string, true, "The tool's name in the report, e.g. Git."},
           {"command", T::string, true,
            "Run with sh -c in the finished tree; the first version-like word of its output is "
            "the version."},
           {"category", T::string, false, "The report's section; default Tools."},
       }},
      {"requirements",
       "Requirements turned into configuration, in a layer right after the base.",
       {
           {"groups", T::object_list, false, "Groups to create.", "group"},
           {"users", T::object_list, false, "Users to create or update.", "user"},
           {"network", T::object, false, "Proxy, DNS, hosts and trusted certificates.", "network"},
           {"security", T::object, false, "A hardening baseline, applied and audited.", "security"},
           {"storage", T::object, false, "Root size and extra filesystems.", "storage"},
           {"domain", T::object, false, "Active Directory join at first boot.", "domain"},
       }},
      {"domain",
       "An Active Directory realm, joined at first boot by a systemd unit.",
       {
           {"realm", T::string, true, "The realm, e.g. CORP.EXAMPLE.COM."},
           {"join_user", T::string, true, "The account that joins computers to the realm."},
           {"computer_ou", T::string, false, "Where the computer account goes."},
           {"credential", T::string, false,
            "Where the deployment puts the join password (default /run/kiln/domain-join)."},
       }},
      {"storage",
       "Disk layout: recorded for disk outputs; extra filesystems also go to /etc/fstab.",
       {
           {"root_size", T::string, false, "Size of the root filesystem, e.g. 20G."},
           {"mounts", T::object_list, false, "Extra filesystems.", "mount"},
       }},
      {"mount",
       "An extra filesystem, mounted by label.",
       {
           {"path", T::string, true, "Where it is mounted, an absolute path."},
           {"size", T::string, true, "Its size, e.g. 50G."},
           {"fs", T::string, false, "ext4 (default), xfs or btrfs."},
           {"label", T::string, false, "Filesystem label; default from the path."},
       }},
      {"security",
       "A hardening baseline: applied after the users, audited on the finished image.",
       {
           {"baseline", T::string, true, "cis-level1: a subset of CIS Debian Linux Level 1."},
           {"waive", T::object_list, false, "Rules not to apply, each with a reason.", "waiver"},
       }},
      {"waiver",
       "A baseline rule left out on purpose.",
       {
           {"rule", T::string, true, "The rule's id, as in the audit report."},
           {"reason", T::string, true, "Why; it appears in the audit report."},
       }},
      {"network",
       "Network settings written into the image.",
       {
           {"proxy", T::string, false, "HTTP(S) proxy URL for the shell, apt and services."},
           {"https_proxy", T::string, false, "HTTPS proxy when it differs from proxy."},
           {"no_proxy", T::string_list, false, "Hosts and domains reached without the proxy."},
           {"dns", T::string_list, false, "Name server addresses."},
           {"search", T::string_list, false, "DNS search domains."},
           {"hosts", T::object_list, false, "Static /etc/hosts entries.", "host"},
           {"ca_certificates", T::string_list, false,
            "PEM certificates next to the definition to trust system-wide."},
       }},
      {"host",
       "One /etc/hosts entry.",
       {
           {"ip", T::string, true, "IPv4 or IPv6 address."},
           {"names", T::string_list, true, "Host names for it."},
       }},
      {"group",
       "A group.",
       {
           {"name", T::string, true, "Group name."},
           {"gid", T::integer, false, "Numeric id."},
       }},
      {"user",
       "A user account.",
       {
           {"name", T::string, true, "Login name."},
           {"uid", T::integer, false, "Numeric id."},
           {"shell", T::string, false, "Login shell, an absolute path."},
           {"home", T::string, false, "Home folder; default /home/NAME."},
           {"groups", T::string_list, false, "Supplementary groups, created when missing."},
           {"sudo", T::string, false,
            "A sudoers rule for the user, e.g. \"ALL=(ALL) NOPASSWD: ALL\"; checked with visudo."},
           {"authorized_keys", T::string_list, false, "OpenSSH public keys allowed to log in."},
       }},
      {"secret",
       "Where a secret comes from: exactly one of env, file, command.",
       {
           {"env", T::string, false, "An environment variable of the kiln process."},
           {"file", T::string, false,
            "A file on the build host (absolute, or relative to the "
            "definition's folder)."},
           {"command", T::string, false,
            "A command run with sh -c on the build host; its "
            "standard output is the value."},
       }},
      {"base",
       "The starting tree.",
       {
           {"bootstrap", T::object, false, "Bootstrap a Debian tree with mmdebstrap.", "bootstrap"},
           {"disk", T::string, false,
            "builder: vm: a kiln image folder with a raw or qcow2 output, a disk image file "
            "(raw or qcow2), relative to the definition, or kiln:NAME@CHANNEL, a published "
            "image with a disk output."},
           {"sha256", T::string, false,
            "The disk's sha256: required for a file, checked against the manifest for a folder."},
       }},
      {"bootstrap",
       "mmdebstrap settings.",
       {
           {"suite", T::string, false, "Debian suite; default bookworm."},
           {"variant", T::string, false, "mmdebstrap variant; default minbase."},
           {"mirror", T::string, false, "Mirror URL; default: mmdebstrap's own default."},
           {"components", T::string_list, false, "Archive components; default [main]."},
           {"packages", T::string_list, false, "Packages installed by the bootstrap itself."},
       }},
      {"step",
       "One step: exactly one of packages, shell, file, artifact, ansible; optionally a name "
       "and the secrets it uses.",
       {
           {"name", T::string, false, "Unique step name; default <kind>-<n>."},
           {"packages", T::string_list, false, "apt packages to install, name or name=version."},
           {"shell", T::shell, false, "A script run with sh -eu inside the image.", "shell"},
           {"file", T::object, false, "Copy a file or folder into the image.", "file"},
           {"artifact", T::object, false, "Fetch a verified download into the image.", "artifact"},
           {"ansible", T::object, false, "Run an Ansible playbook against the image.", "ansible"},
           {"secrets", T::string_list, false,
            "Secrets readable at /run/secrets/NAME during this step only."},
           {"secret_env", T::boolean, false,
            "Also give the step's secrets as environment variables (NAME in upper case)."},
           {"network", T::string, false,
            "outbound (default: outbound access, no host loopback, no metadata service) or "
            "none (loopback only)."},
           {"reboot", T::boolean, false,
            "builder: vm: reboot the machine after the step, before the next one."},
           {"tests", T::object_list, false, "Checks run right after this step.", "test"},
       }},
      {"test",
       "A check on the tree, or on the booted disk: exactly one of command, file, package, user, "
       "group, service, port, boot_time, with the options of that kind; or `boot: true` (the "
       "definition's tests only) to also run them in the booted disk.",
       {
           {"name", T::string, false, "Name in reports; default '<kind> <subject>'."},
           {"command", T::string, false, "A command run with sh -c in the tree."},
           {"file", T::string, false, "An absolute path in the image."},
           {"package", T::string, false, "A Debian package that must be installed."},
           {"user", T::string, false, "A user that must exist."},
           {"group", T::string, false, "A group that must exist."},
           {"service", T::string, false, "A systemd unit that must be enabled."},
           {"port", T::string, false,
            "A TCP port something listens on in the booted disk, e.g. 22."},
           {"boot_time", T::string, false,
            "The longest time from power-on to ready in the booted disk, e.g. 90s."},
           {"boot", T::boolean, false,
            "true: also boot the disk and run the definition's tests in it (kiln test --boot)."},
           {"active", T::boolean, false, "service: also running, in the booted disk."},
           {"exit_code", T::integer, false, "command: the expected exit code; default 0."},
           {"stdout", T::string, false, "command: a regular expression its output must match."},
           {"stderr", T::string, false, "command: a regular expression its errors must match."},
           {"timeout", T::string, false, "command: how long it may run, e.g. 30s; default 60s."},
           {"as", T::string, false, "command: the user to run it as; default root."},
           {"exists", T::boolean, false, "file: false to require that it is absent."},
           {"type", T::string, false, "file: file, directory or link."},
           {"mode", T::mode, false, "file: permission bits, e.g. \"0644\"."},
           {"owner", T::string, false, "file: user or user:group."},
           {"contains", T::string, false, "file: a regular expression its content must match."},
           {"version", T::string, false,
            "package: a version constraint, e.g. \">= 1:2.39\" (>=, <=, =, >>, <<)."},
           {"shell", T::string, false, "user: the login shell."},
           {"groups", T::string_list, false, "user: supplementary groups it must be in."},
       }},
      {"shell",
       "An inline script (run) or a script file (script).",
       {
           {"run", T::string, false, "Inline script."},
           {"script", T::string, false, "Script file, relative to the definition."},
       }},
      {"file",
       "A file or folder next to the definition, copied into the image.",
       {
           {"src", T::string, true, "Source, relative to the definition's folder."},
           {"dest", T::string, true, "Absolute destination path in the image."},
           {"mode", T::mode, false, "Octal permission bits for files, e.g. \"0644\"."},
           {"owner", T::string, false, "user or user:group in the image; default root:root."},
       }},
      {"artifact",
       "A download checked against its sha256 before use.",
       {
           {"url", T::string, true, "https://, http://, file:///abs or file:relative URL."},
           {"sha256", T::string, true, "Expected SHA-256 of the download, 64 hex digits."},
           {"dest", T::string, false, "Install the file itself at this absolute path."},
           {"extract_to", T::string, false, "Extract the archive into this absolute folder."},
           {"mode", T::mode, false, "Permission bits for dest, e.g. \"0755\"."},
           {"strip_components", T::integer, false, "Leading path parts to drop when extracting."},
       }},
      {"ansible",
       "ansible-playbook run on the build host against the image through the "
       "community.general.chroot connection.",
       {
           {"playbook", T::string, true,
            "The playbook, relative to the definition, in a folder of its own (the whole folder "
            "is an input of the step)."},
           {"roles_path", T::string, false,
            "A folder of roles, relative to the definition; default: the playbook folder's "
            "roles/."},
           {"extra_vars", T::variables, false, "Variables passed with --extra-vars."},
           {"tags", T::string_list, false, "Run only the tasks with these tags."},
           {"group", T::string, false, "The inventory group the image is in; default kiln."},
           {"keep_python", T::boolean, false,
            "Keep the python3 kiln installs for the run; default false (it is removed)."},
       }},
  };
  return all;
}

const Shape& shape(std::string_view name)
{
  for (const auto& candidate : shapes()) {
    if (candidate.name == name)
      return candidate;
  }
  throw std::logic_error("no shape named " + std::string(name));
}

std::vector<std::string_view> keys_of(const Shape& s)
{
  std::vector<std::string_view> keys;
  for (const auto& field : s.fields)
    keys.push_back(field.key);
  return keys;
}

const std::vector<std::string_view>& step_kinds()
{
  static const std::vector<std::string_view> kinds = {"packages", "shell", "file", "artifact",
                                                      "ansible"};
  // (The step shape also has name, secrets and secret_env, which are not kinds.)
  return kinds;
}

} // namespace kiln::spec
