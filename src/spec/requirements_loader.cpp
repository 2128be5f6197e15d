// Loading and checking the `requirements:` section of a definition.
#include "spec/validator.hpp"

#include <regex>
#include <set>

namespace kiln::spec {

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
  if (it == fields.end())
    return items;
  if (!it->second.value.IsSequence()) {
    v.error(Validator::value_position(it->second),
            std::string("requirements.") + key + " must be a list",
            "write each item as a '- name: ...' entry");
    return items;
  }
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
  return requirements;
}

} // namespace kiln::spec
