// Loading and checking the `requirements:` section of a definition.
#include "spec/requirements_loader.hpp"

#include "security/baseline.hpp"
#include "spec/network_loader.hpp"
#include "util/strings.hpp"

#include <filesystem>
#include <regex>
#include <set>

namespace kiln::spec {

namespace fs = std::filesystem;

namespace {

const std::regex kAccountName("[a-z_][a-z0-9_-]{0,31}");

std::optional<std::string> account_name(Validator& v, const Entries& fields,
                                        const std::string& where)
{
  auto it = fields.find("name");
  if (it == fields.end())
    return std::nullopt;
  auto name = v.string_value(it->second, where + " name");
  if (name && !std::regex_match(*name, kAccountName)) {
    v.error(Validator::value_position(it->second), where + " name '" + *name + "' is not valid",
            "use lowercase letters, digits, '_' and '-', starting with a letter or '_'");
    return std::nullopt;
  }
  return name;
}

std::optional<int> optional_id(Validator& v, const Entries& fields, const char* key,
                               const std::string& where)
{
  auto it = fields.find(key);
  if (it == fields.end())
    return std::nullopt;
  return v.integer_value(it->second, where + " " + key);
}

std::optional<Group> load_group(Validator& v, const YAML::Node& node, int number)
{
  std::string where = "requirements.groups item " + std::to_string(number);
  auto fields = v.mapping(node, position_of(node), shape("group"), where);
  if (!fields)
    return std::nullopt;
  auto name = account_name(v, *fields, where);
  if (!name)
    return std::nullopt;
  return Group{*name, optional_id(v, *fields, "gid", where)};
}

bool load_keys(Validator& v, const Entry& entry, const std::string& where, User& user)
{
  auto keys = v.string_list(entry, where + " authorized_keys");
  if (!keys)
    return false;
  static const std::regex key("(ssh-(rsa|ed25519|dss)|ecdsa-sha2-[a-z0-9]+|sk-[a-z0-9@.-]+) "
                              "[A-Za-z0-9+/=]+( .*)?");
  bool ok = true;
  size_t index = 0;
  for (const auto& text : *keys) {
    Position at = position_of(entry.value[index++]);
    if (!std::regex_match(text, key)) {
      v.error(at, where + " has an authorized key that is not an OpenSSH public key",
              "paste one line of a .pub file, e.g. ssh-ed25519 AAAA... user@host");
      ok = false;
    }
  }
  user.authorized_keys = *keys;
  return ok;
}

bool load_user_fields(Validator& v, const Entries& fields, const std::string& where, User& user)
{
  bool ok = true;
  for (const char* key : {"shell", "home"}) {
    auto it = fields.find(key);
    if (it == fields.end())
      continue;
    auto path = v.string_value(it->second, where + " " + key);
    ok = path && v.check_image_path(it->second, *path, where + " " + key) && ok;
    (std::string(key) == "shell" ? user.shell : user.home) = path.value_or("");
  }
  if (auto it = fields.find("groups"); it != fields.end()) {
    auto groups = v.string_list(it->second, where + " groups");
    ok = groups.has_value() && ok;
    for (const auto& group : groups.value_or(std::vector<std::string>{})) {
      if (!std::regex_match(group, kAccountName)) {
        v.error(Validator::value_position(it->second),
                where + " group '" + group + "' is not a valid group name",
                "use lowercase letters, digits, '_' and '-'");
        ok = false;
      }
    }
    user.groups = groups.value_or(std::vector<std::string>{});
  }
  if (auto it = fields.find("sudo"); it != fields.end()) {
    auto rule = v.string_value(it->second, where + " sudo");
    if (rule && rule->find('\n') != std::string::npos) {
      v.error(Validator::value_position(it->second), where + " sudo must be a single rule",
              "write one line such as \"ALL=(ALL) NOPASSWD: ALL\"");
      ok = false;
    }
    user.sudo = rule.value_or("");
    ok = rule.has_value() && ok;
  }
  if (auto it = fields.find("authorized_keys"); it != fields.end())
    ok = load_keys(v, it->second, where, user) && ok;
  return ok;
}

std::optional<User> load_user(Validator& v, const YAML::Node& node, int number)
{
  std::string where = "requirements.users item " + std::to_string(number);
  auto fields = v.mapping(node, position_of(node), shape("user"), where);
  if (!fields)
    return std::nullopt;
  User user;
  auto name = account_name(v, *fields, where);
  bool ok = name.has_value();
  user.name = name.value_or("");
  if (auto it = fields->find("uid"); it != fields->end()) {
    user.uid = v.integer_value(it->second, where + " uid");
    ok = user.uid.has_value() && ok;
  }
  ok = load_user_fields(v, *fields, where, user) && ok;
  if (!ok)
    return std::nullopt;
  return user;
}

template <typename T, typename Load>
std::vector<T> load_list(Validator& v, const Entries& fields, const char* key, Load load)
{
  std::vector<T> items;
  auto it = fields.find(key);
  if (it == fields.end() || !v.is_list(it->second, std::string("requirements.") + key,
                                       "write each item as a '- name: ...' entry"))
    return items;
  std::set<std::string> seen;
  int number = 0;
  for (const auto& node : it->second.value) {
    auto item = load(v, node, ++number);
    if (!item)
      continue;
    if (!seen.insert(item->name).second) {
      v.error(position_of(node),
              std::string("requirements.") + key + " names '" + item->name + "' twice",
              "keep one entry per name");
      continue;
    }
    items.push_back(std::move(*item));
  }
  return items;
}

void load_waiver(Validator& v, const YAML::Node& node, int number, Security& security)
{
  std::string where = "requirements.security.waive item " + std::to_string(number);
  auto fields = v.mapping(node, position_of(node), shape("waiver"), where);
  if (!fields || !fields->count("rule") || !fields->count("reason"))
    return;
  auto rule = v.string_value(fields->at("rule"), where + " rule");
  auto reason = v.string_value(fields->at("reason"), where + " reason");
  if (!rule || !reason)
    return;
  auto ids = security::rule_ids();
  if (std::find(ids.begin(), ids.end(), *rule) == ids.end()) {
    std::string suggestion = util::closest_match(*rule, ids);
    v.error(Validator::value_position(fields->at("rule")),
            "security rule '" + *rule + "' does not exist",
            (suggestion.empty() ? std::string() : "did you mean '" + suggestion + "'? ") +
                "kiln build writes every rule's id to OUT/security-audit.md");
    return;
  }
  if (util::trim(*reason).empty()) {
    v.error(Validator::value_position(fields->at("reason")), where + " reason is empty",
            "say why the rule does not fit this image");
    return;
  }
  security.waive[*rule] = *reason;
}

std::optional<uint64_t> size_value(Validator& v, const Entry& entry, const std::string& what)
{
  auto text = v.string_value(entry, what);
  if (!text)
    return std::nullopt;
  auto bytes = util::parse_size(*text);
  if (!bytes || *bytes < (64ull << 20)) {
    v.error(Validator::value_position(entry),
            what + " '" + *text + "' is not a size of 64M or more", "write e.g. 20G or 512M");
    return std::nullopt;
  }
  return bytes;
}

std::optional<MountPoint> load_mount(Validator& v, const Entries& fields, const std::string& where)
{
  MountPoint mount;
  if (!fields.count("path") || !fields.count("size"))
    return std::nullopt;
  auto path = v.string_value(fields.at("path"), where + " path");
  if (!path || !v.check_image_path(fields.at("path"), *path, where + " path"))
    return std::nullopt;
  mount.path = *path;
  auto size = size_value(v, fields.at("size"), where + " size");
  if (!size)
    return std::nullopt;
  mount.size = *size;
  if (auto it = fields.find("fs"); it != fields.end()) {
    auto fs = v.string_value(it->second, where + " fs");
    if (fs && *fs != "ext4" && *fs != "xfs" && *fs != "btrfs") {
      v.error(Validator::value_position(it->second), where + " fs '" + *fs + "' is not supported",
              "use ext4, xfs or btrfs");
      return std::nullopt;
    }
    mount.fs = fs.value_or("ext4");
  }
  std::string name = fs::path(mount.path).filename().string();
  mount.label = name.substr(0, 16);
  if (auto it = fields.find("label"); it != fields.end()) {
    auto label = v.string_value(it->second, where + " label");
    static const std::regex pattern("[A-Za-z0-9_-]{1,16}");
    if (label && !std::regex_match(*label, pattern)) {
      v.error(Validator::value_position(it->second), where + " label '" + *label + "' is not valid",
              "use up to 16 letters, digits, '_' and '-'");
      return std::nullopt;
    }
    mount.label = label.value_or(mount.label);
  }
  return mount;
}

Storage load_storage(Validator& v, const Entry& entry)
{
  Storage storage;
  auto fields = v.mapping(entry.value, Validator::value_position(entry), shape("storage"),
                          "requirements.storage");
  if (!fields)
    return storage;
  if (auto it = fields->find("root_size"); it != fields->end())
    storage.root_size = size_value(v, it->second, "requirements.storage root_size").value_or(0);
  auto it = fields->find("mounts");
  if (it == fields->end() || !v.is_list(it->second, "requirements.storage mounts",
                                        "write each as '- {path: /var/lib/docker, size: 50G}'"))
    return storage;
  std::set<std::string> paths;
  int number = 0;
  for (const auto& node : it->second.value) {
    std::string where = "requirements.storage.mounts item " + std::to_string(++number);
    auto mount_fields = v.mapping(node, position_of(node), shape("mount"), where);
    if (!mount_fields)
      continue;
    auto mount = load_mount(v, *mount_fields, where);
    if (!mount)
      continue;
    if (!paths.insert(mount->path).second) {
      v.error(position_of(node), where + " mounts " + mount->path + " a second time",
              "keep one filesystem per path");
      continue;
    }
    storage.mounts.push_back(*mount);
  }
  return storage;
}

Domain load_domain(Validator& v, const Entry& entry)
{
  Domain domain;
  auto fields = v.mapping(entry.value, Validator::value_position(entry), shape("domain"),
                          "requirements.domain");
  if (!fields || !fields->count("realm") || !fields->count("join_user"))
    return domain;
  auto realm = v.string_value(fields->at("realm"), "requirements.domain realm");
  static const std::regex realm_pattern(
      "[A-Z0-9]([A-Z0-9-]*[A-Z0-9])?(\\.[A-Z0-9]([A-Z0-9-]*[A-Z0-9])?)+");
  if (realm && !std::regex_match(*realm, realm_pattern)) {
    v.error(Validator::value_position(fields->at("realm")),
            "requirements.domain realm '" + *realm + "' is not a realm name",
            "write the DNS domain in capitals, e.g. CORP.EXAMPLE.COM");
    return domain;
  }
  auto user = v.string_value(fields->at("join_user"), "requirements.domain join_user");
  static const std::regex user_pattern("[A-Za-z0-9._$-]{1,64}");
  if (user && !std::regex_match(*user, user_pattern)) {
    v.error(Validator::value_position(fields->at("join_user")),
            "requirements.domain join_user '" + *user + "' is not an account name",
            "give the account's name without the realm, e.g. svc-join");
    return domain;
  }
  if (auto it = fields->find("computer_ou"); it != fields->end()) {
    auto ou = v.string_value(it->second, "requirements.domain computer_ou");
    static const std::regex ou_pattern("[A-Za-z0-9=,._ -]+");
    if (ou && !std::regex_match(*ou, ou_pattern)) {
      v.error(Validator::value_position(it->second),
              "requirements.domain computer_ou '" + *ou + "' is not a distinguished name",
              "write e.g. OU=Agents,DC=corp,DC=example,DC=com");
      return domain;
    }
    domain.computer_ou = ou.value_or("");
  }
  if (auto it = fields->find("credential"); it != fields->end()) {
    auto path = v.string_value(it->second, "requirements.domain credential");
    if (path && v.check_image_path(it->second, *path, "requirements.domain credential"))
      domain.credential = *path;
  }
  if (realm && user) {
    domain.realm = *realm;
    domain.join_user = *user;
  }
  return domain;
}

Security load_security(Validator& v, const Entry& entry)
{
  Security security;
  auto fields = v.mapping(entry.value, Validator::value_position(entry), shape("security"),
                          "requirements.security");
  if (!fields || !fields->count("baseline"))
    return security;
  auto baseline = v.string_value(fields->at("baseline"), "requirements.security baseline");
  if (baseline && *baseline != "cis-level1") {
    v.error(Validator::value_position(fields->at("baseline")),
            "unknown security baseline '" + *baseline + "'", "the baseline kiln has is cis-level1");
    return security;
  }
  security.baseline = baseline.value_or("");
  if (auto it = fields->find("waive");
      it != fields->end() && v.is_list(it->second, "requirements.security waive",
                                       "write each waiver as '- {rule: ID, reason: WHY}'")) {
    int number = 0;
    for (const auto& node : it->second.value)
      load_waiver(v, node, ++number, security);
  }
  return security;
}

} // namespace

Requirements load_requirements(Validator& v, const Entry& entry)
{
  Requirements requirements;
  auto fields = v.mapping(entry.value, Validator::value_position(entry), shape("requirements"),
                          "requirements");
  if (!fields)
    return requirements;
  requirements.groups = load_list<Group>(v, *fields, "groups", load_group);
  requirements.users = load_list<User>(v, *fields, "users", load_user);
  if (auto it = fields->find("network"); it != fields->end())
    requirements.network = load_network(v, it->second);
  if (auto it = fields->find("security"); it != fields->end())
    requirements.security = load_security(v, it->second);
  if (auto it = fields->find("storage"); it != fields->end())
    requirements.storage = load_storage(v, it->second);
  if (auto it = fields->find("domain"); it != fields->end())
    requirements.domain = load_domain(v, it->second);
  return requirements;
}

} // namespace kiln::spec
