#include "security/baseline.hpp"

#include "util/fs.hpp"
#include "util/strings.hpp"

#include <fstream>
#include <sstream>
#include <sys/stat.h>

namespace kiln::security {

namespace fs = std::filesystem;

namespace {

enum class Kind { drop_in, login_defs, mode, mask };

struct Spec {
  Rule rule;
  Kind kind;
  std::string_view path;                // drop-in file, or the file whose mode is set
  std::vector<std::string_view> values; // drop-in lines; {key, value}; {mode, owner}; services
};

// sshd reads /etc/ssh/sshd_config.d/*.conf first and keeps the first value it sees: a low number
// makes these win over later drop-ins and the main file.
#define SSHD(file) "/etc/ssh/sshd_config.d/10-kiln-cis-" file ".conf"
#define SYSCTL(file) "/etc/sysctl.d/60-kiln-cis-" file ".conf"

const std::vector<Spec>& specs()
{
  static const std::vector<Spec> all = {
      {{"unused-filesystems", "1.1.1.1-8", "Kernel modules for unused filesystems cannot load"},
       Kind::drop_in,
       "/etc/modprobe.d/kiln-cis-filesystems.conf",
       {"install cramfs /bin/false", "blacklist cramfs", "install freevxfs /bin/false",
        "blacklist freevxfs", "install hfs /bin/false", "blacklist hfs",
        "install hfsplus /bin/false", "blacklist hfsplus", "install jffs2 /bin/false",
        "blacklist jffs2", "install udf /bin/false", "blacklist udf"}},
      {{"usb-storage", "1.1.1.9", "USB storage cannot be loaded"},
       Kind::drop_in,
       "/etc/modprobe.d/kiln-cis-usb-storage.conf",
       {"install usb-storage /bin/false", "blacklist usb-storage"}},
      {{"aslr", "1.5.1", "Address space layout randomization is on"},
       Kind::drop_in,
       SYSCTL("aslr"),
       {"kernel.randomize_va_space = 2"}},
      {{"ptrace-scope", "1.5.2", "ptrace is restricted to descendants"},
       Kind::drop_in,
       SYSCTL("ptrace"),
       {"kernel.yama.ptrace_scope = 1"}},
      {{"core-dumps-limit", "1.5.3", "Core dumps are limited to zero size"},
       Kind::drop_in,
       "/etc/security/limits.d/kiln-cis-core.conf",
       {"* hard core 0"}},
      {{"core-dumps-suid", "1.5.3", "setuid programs do not dump core"},
       Kind::drop_in,
       SYSCTL("suid-dumpable"),
       {"fs.suid_dumpable = 0"}},
      {{"unneeded-services", "2.1-2.2", "Network services an agent does not need are masked"},
       Kind::mask,
       "",
       {"avahi-daemon", "cups", "isc-dhcp-server", "slapd", "nfs-server", "rpcbind", "named",
        "vsftpd", "apache2", "dovecot", "smbd", "squid", "snmpd", "rsync", "xinetd"}},
      {{"ip-forwarding", "3.3.1", "The image does not route packets"},
       Kind::drop_in,
       SYSCTL("ip-forward"),
       {"net.ipv4.ip_forward = 0", "net.ipv6.conf.all.forwarding = 0"}},
      {{"send-redirects", "3.3.2", "ICMP redirects are not sent"},
       Kind::drop_in,
       SYSCTL("send-redirects"),
       {"net.ipv4.conf.all.send_redirects = 0", "net.ipv4.conf.default.send_redirects = 0"}},
      {{"bogus-icmp-ignored", "3.3.3", "Bogus ICMP responses are ignored"},
       Kind::drop_in,
       SYSCTL("bogus-icmp"),
       {"net.ipv4.icmp_ignore_bogus_error_responses = 1"}},
      {{"broadcast-icmp-ignored", "3.3.4", "Broadcast ICMP requests are ignored"},
       Kind::drop_in,
       SYSCTL("broadcast-icmp"),
       {"net.ipv4.icmp_echo_ignore_broadcasts = 1"}},
      {{"accept-redirects", "3.3.5-6", "ICMP redirects are not accepted"},
       Kind::drop_in,
       SYSCTL("accept-redirects"),
       {"net.ipv4.conf.all.accept_redirects = 0", "net.ipv4.conf.default.accept_redirects = 0",
        "net.ipv4.conf.all.secure_redirects = 0", "net.ipv4.conf.default.secure_redirects = 0",
        "net.ipv6.conf.all.accept_redirects = 0", "net.ipv6.conf.default.accept_redirects = 0"}},
      {{"reverse-path-filter", "3.3.7", "Reverse path filtering is on"},
       Kind::drop_in,
       SYSCTL("rp-filter"),
       {"net.ipv4.conf.all.rp_filter = 1", "net.ipv4.conf.default.rp_filter = 1"}},
      {{"source-routing", "3.3.8", "Source-routed packets are not accepted"},
       Kind::drop_in,
       SYSCTL("source-route"),
       {"net.ipv4.conf.all.accept_source_route = 0",
        "net.ipv4.conf.default.accept_source_route = 0",
        "net.ipv6.conf.all.accept_source_route = 0",
        "net.ipv6.conf.default.accept_source_route = 0"}},
      {{"martians-logged", "3.3.9", "Suspicious packets are logged"},
       Kind::drop_in,
       SYSCTL("martians"),
       {"net.ipv4.conf.all.log_martians = 1", "net.ipv4.conf.default.log_martians = 1"}},
      {{"tcp-syncookies", "3.3.10", "TCP SYN cookies are on"},
       Kind::drop_in,
       SYSCTL("syncookies"),
       {"net.ipv4.tcp_syncookies = 1"}},
      {{"ipv6-router-adverts", "3.3.11", "IPv6 router advertisements are not accepted"},
       Kind::drop_in,
       SYSCTL("accept-ra"),
       {"net.ipv6.conf.all.accept_ra = 0", "net.ipv6.conf.default.accept_ra = 0"}},
      {{"sshd-root-login", "5.1.20", "sshd refuses root logins"},
       Kind::drop_in,
       SSHD("root-login"),
       {"PermitRootLogin no"}},
      {{"sshd-empty-passwords", "5.1.19", "sshd refuses empty passwords"},
       Kind::drop_in,
       SSHD("empty-passwords"),
       {"PermitEmptyPasswords no"}},
      {{"sshd-hostbased", "5.1.11-12", "sshd ignores host-based authentication and rhosts"},
       Kind::drop_in,
       SSHD("hostbased"),
       {"HostbasedAuthentication no", "IgnoreRhosts yes"}},
      {{"sshd-x11-forwarding", "5.1.9", "sshd does not forward X11"},
       Kind::drop_in,
       SSHD("x11"),
       {"X11Forwarding no"}},
      {{"sshd-max-auth-tries", "5.1.16", "sshd allows at most 4 authentication attempts"},
       Kind::drop_in,
       SSHD("max-auth-tries"),
       {"MaxAuthTries 4"}},
      {{"sshd-idle-timeout", "5.1.7", "sshd closes idle sessions"},
       Kind::drop_in,
       SSHD("idle-timeout"),
       {"ClientAliveInterval 300", "ClientAliveCountMax 3"}},
      {{"sshd-login-grace", "5.1.15", "sshd gives 60 seconds to log in"},
       Kind::drop_in,
       SSHD("login-grace"),
       {"LoginGraceTime 60"}},
      {{"password-max-days", "5.4.1.1", "Passwords expire after 365 days"},
       Kind::login_defs,
       "",
       {"PASS_MAX_DAYS", "365"}},
      {{"password-min-days", "5.4.1.2", "Passwords change at most once a day"},
       Kind::login_defs,
       "",
       {"PASS_MIN_DAYS", "1"}},
      {{"password-warn-age", "5.4.1.3", "Users are warned 7 days before a password expires"},
       Kind::login_defs,
       "",
       {"PASS_WARN_AGE", "7"}},
      {{"default-umask", "5.4.3.3", "The default umask is 027"},
       Kind::login_defs,
       "",
       {"UMASK", "027"}},
      {{"perms-passwd", "7.1.1", "/etc/passwd is 0644 root:root"},
       Kind::mode,
       "/etc/passwd",
       {"0644", "root:root"}},
      {{"perms-group", "7.1.3", "/etc/group is 0644 root:root"},
       Kind::mode,
       "/etc/group",
       {"0644", "root:root"}},
      {{"perms-shadow", "7.1.5", "/etc/shadow is 0640 root:shadow"},
       Kind::mode,
       "/etc/shadow",
       {"0640", "root:shadow"}},
      {{"perms-gshadow", "7.1.7", "/etc/gshadow is 0640 root:shadow"},
       Kind::mode,
       "/etc/gshadow",
       {"0640", "root:shadow"}},
  };
  return all;
}

std::string file_content(const Spec& spec)
{
  std::string content = "# kiln security baseline cis-level1, rule " + std::string(spec.rule.id) +
                        " (CIS " + std::string(spec.rule.cis) + ")\n";
  for (auto line : spec.values)
    content += std::string(line) + "\n";
  return content;
}

// Reads a regular file of the tree; a link (which could lead out of the tree) reads as absent.
std::optional<std::string> read_in_tree(const fs::path& tree, const std::string& path)
{
  struct stat st {};
  fs::path file = tree / fs::path(path).relative_path();
  if (::lstat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return std::nullopt;
  auto text = util::read_file(file);
  return text ? std::optional<std::string>(*text) : std::nullopt;
}

std::optional<gid_t> group_id(const fs::path& tree, const std::string& name)
{
  auto groups = read_in_tree(tree, "/etc/group");
  std::istringstream in(groups.value_or(""));
  std::string line;
  while (std::getline(in, line)) {
    auto fields = util::split(line, ':');
    if (fields.size() >= 3 && fields[0] == name)
      return static_cast<gid_t>(std::stoul(fields[2]));
  }
  return std::nullopt;
}

// "" when the rule holds, else why not.
std::string check(const fs::path& tree, const Spec& spec)
{
  switch (spec.kind) {
  case Kind::drop_in: {
    auto content = read_in_tree(tree, std::string(spec.path));
    if (!content)
      return std::string(spec.path) + " is missing";
    for (auto line : spec.values) {
      if (content->find(std::string(line) + "\n") == std::string::npos)
        return std::string(spec.path) + " does not set '" + std::string(line) + "'";
    }
    return {};
  }
  case Kind::login_defs: {
    std::string key(spec.values[0]), want(spec.values[1]), value;
    std::istringstream in(read_in_tree(tree, "/etc/login.defs").value_or(""));
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream words(line);
      std::string first, second;
      if (words >> first >> second && first == key)
        value = second;
    }
    return value == want ? "" : "/etc/login.defs sets " + key + " to '" + value + "', not " + want;
  }
  case Kind::mode: {
    struct stat st {};
    fs::path file = tree / fs::path(spec.path).relative_path();
    if (::lstat(file.c_str(), &st) != 0)
      return std::string(spec.path) + " is missing";
    auto want_mode = std::stoul(std::string(spec.values[0]), nullptr, 8);
    auto owner = util::split(spec.values[1], ':');
    auto gid = group_id(tree, owner[1]);
    if ((st.st_mode & 07777) != want_mode || st.st_uid != 0 || !gid || st.st_gid != *gid) {
      char actual[64];
      std::snprintf(actual, sizeof actual, "%04o %u:%u", st.st_mode & 07777, st.st_uid, st.st_gid);
      return std::string(spec.path) + " is " + actual + ", not " + std::string(spec.values[0]) +
             " " + std::string(spec.values[1]);
    }
    return {};
  }
  case Kind::mask:
    for (auto service : spec.values) {
      std::string unit = std::string(service) + ".service";
      bool installed = fs::exists(tree / "lib/systemd/system" / unit) ||
                       fs::exists(tree / "usr/lib/systemd/system" / unit);
      std::error_code ec;
      bool masked = fs::read_symlink(tree / "etc/systemd/system" / unit, ec) == "/dev/null";
      if (installed && !masked)
        return unit + " is installed and not masked";
    }
    return {};
  }
  return "unknown rule kind";
}

} // namespace

const std::vector<Rule>& cis_level1()
{
  static const std::vector<Rule> rules = [] {
    std::vector<Rule> out;
    for (const auto& spec : specs())
      out.push_back(spec.rule);
    return out;
  }();
  return rules;
}

std::vector<std::string_view> rule_ids()
{
  std::vector<std::string_view> ids;
  for (const auto& rule : cis_level1())
    ids.push_back(rule.id);
  return ids;
}

Changes changes(const std::map<std::string, std::string>& waived)
{
  Changes out;
  for (const auto& spec : specs()) {
    if (waived.count(std::string(spec.rule.id)))
      continue;
    switch (spec.kind) {
    case Kind::drop_in:
      out.files[std::string(spec.path)] = file_content(spec);
      break;
    case Kind::login_defs:
      out.login_defs.emplace_back(spec.values[0], spec.values[1]);
      break;
    case Kind::mode:
      out.modes.push_back(
          {std::string(spec.path), std::string(spec.values[0]), std::string(spec.values[1])});
      break;
    case Kind::mask:
      for (auto service : spec.values)
        out.masked_services.emplace_back(service);
      break;
    }
  }
  return out;
}

Expected<std::vector<Finding>> audit(const fs::path& tree,
                                     const std::map<std::string, std::string>& waived)
{
  std::vector<Finding> findings;
  for (const auto& spec : specs()) {
    Finding f{std::string(spec.rule.id), std::string(spec.rule.cis), std::string(spec.rule.title),
              "pass", ""};
    if (auto reason = waived.find(f.rule); reason != waived.end()) {
      f.status = "waived";
      f.detail = reason->second;
    } else if (std::string why = check(tree, spec); !why.empty()) {
      f.status = "fail";
      f.detail = why;
    }
    findings.push_back(std::move(f));
  }
  return findings;
}

nlohmann::json report_json(const std::vector<Finding>& findings)
{
  nlohmann::json rules = nlohmann::json::array();
  std::map<std::string, int> counts = {{"pass", 0}, {"fail", 0}, {"waived", 0}};
  for (const auto& f : findings) {
    ++counts[f.status];
    rules.push_back({{"rule", f.rule},
                     {"cis", f.cis},
                     {"title", f.title},
                     {"status", f.status},
                     {"detail", f.detail}});
  }
  return {{"baseline", "cis-level1"}, {"summary", counts}, {"rules", rules}};
}

std::string report_markdown(const std::vector<Finding>& findings)
{
  std::string out = "# Security audit: cis-level1\n\n| rule | CIS | status | detail |\n"
                    "|---|---|---|---|\n";
  for (const auto& f : findings)
    out += "| " + f.rule + " | " + f.cis + " | " + f.status + " | " + f.detail + " |\n";
  return out;
}

} // namespace kiln::security
