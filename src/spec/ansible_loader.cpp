// Loading and checking an `ansible:` step.
#include "spec/ansible_loader.hpp"

#include <nlohmann/json.hpp>
#include <regex>

namespace kiln::spec {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A YAML value as JSON, typed as YAML's core schema types it: a quoted scalar is always a string.
json to_json(const YAML::Node& node)
{
  switch (node.Type()) {
  case YAML::NodeType::Map: {
    json object = json::object();
    for (const auto& item : node)
      object[item.first.Scalar()] = to_json(item.second);
    return object;
  }
  case YAML::NodeType::Sequence: {
    json array = json::array();
    for (const auto& item : node)
      array.push_back(to_json(item));
    return array;
  }
  case YAML::NodeType::Scalar:
    break;
  default:
    return nullptr;
  }
  const std::string& text = node.Scalar();
  if (node.Tag() == "!")
    return text;
  static const std::regex integer("[-+]?[0-9]+");
  static const std::regex real("[-+]?([0-9]+[.][0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?");
  if (text == "true" || text == "True" || text == "TRUE")
    return true;
  if (text == "false" || text == "False" || text == "FALSE")
    return false;
  if (text == "null" || text == "~")
    return nullptr;
  if (std::regex_match(text, integer)) {
    try {
      return std::stoll(text);
    } catch (const std::out_of_range&) {
      return text;
    }
  }
  if (std::regex_match(text, real))
    return std::stod(text);
  return text;
}

std::optional<std::string> load_extra_vars(Validator& v, const Entry& entry,
                                           const std::string& where)
{
  if (!entry.value.IsMap() || entry.value.size() == 0) {
    v.error(Validator::value_position(entry), where + " extra_vars must be a mapping of names",
            "write e.g. extra_vars: {agent_pool: linux, agent_count: 2}");
    return std::nullopt;
  }
  static const std::regex name("[A-Za-z_][A-Za-z0-9_]*");
  bool ok = true;
  for (const auto& item : entry.value) {
    if (!std::regex_match(item.first.Scalar(), name)) {
      v.error(position_of(item.first),
              where + " extra_vars name '" + item.first.Scalar() + "' is not a variable name",
              "use letters, digits and '_', not starting with a digit");
      ok = false;
    }
  }
  if (!ok)
    return std::nullopt;
  return to_json(entry.value).dump();
}

// The playbook must sit in a folder of its own below the definition's: that folder is what the
// step's cache key covers, and the definition's own folder also holds outputs and other steps'
// files.
bool check_playbook(Validator& v, const Entry& entry, const std::string& path,
                    const std::string& where)
{
  if (!v.check_relative_input(entry, path, where + " playbook"))
    return false;
  fs::path folder = fs::path(path).lexically_normal().parent_path();
  if (folder.empty() || folder == ".") {
    v.error(Validator::value_position(entry),
            where + " playbook '" + path + "' is not in a folder of its own",
            "move it and its roles into a folder, e.g. ansible/site.yml: the whole folder is an "
            "input of the step");
    return false;
  }
  if (!fs::is_regular_file(v.dir() / path)) {
    v.error(Validator::value_position(entry), where + " playbook '" + path + "' is not a file",
            "name the playbook's YAML file, e.g. ansible/site.yml");
    return false;
  }
  return true;
}

bool check_folder(Validator& v, const Entry& entry, const std::string& path,
                  const std::string& what)
{
  if (!v.check_relative_input(entry, path, what))
    return false;
  if (!fs::is_directory(v.dir() / path)) {
    v.error(Validator::value_position(entry), what + " '" + path + "' is not a folder",
            "name the folder that holds the roles");
    return false;
  }
  return true;
}

} // namespace

std::optional<AnsibleStep> load_ansible(Validator& v, const Entry& entry, const std::string& where)
{
  auto fields = v.mapping(entry.value, Validator::value_position(entry), shape("ansible"), where);
  if (!fields)
    return std::nullopt;
  AnsibleStep step;
  bool ok = fields->count("playbook") > 0;
  if (auto it = fields->find("playbook"); it != fields->end()) {
    auto path = v.string_value(it->second, where + " playbook");
    ok = path && check_playbook(v, it->second, *path, where) && ok;
    step.playbook = fs::path(path.value_or("")).lexically_normal().string();
  }
  if (auto it = fields->find("roles_path"); it != fields->end()) {
    auto path = v.string_value(it->second, where + " roles_path");
    ok = path && check_folder(v, it->second, *path, where + " roles_path") && ok;
    step.roles_path = fs::path(path.value_or("")).lexically_normal().string();
  }
  if (auto it = fields->find("extra_vars"); it != fields->end()) {
    auto vars = load_extra_vars(v, it->second, where);
    ok = vars.has_value() && ok;
    step.extra_vars = vars.value_or("");
  }
  if (auto it = fields->find("tags"); it != fields->end()) {
    auto tags = v.string_list(it->second, where + " tags");
    ok = tags.has_value() && ok;
    step.tags = tags.value_or(std::vector<std::string>{});
  }
  if (auto it = fields->find("group"); it != fields->end()) {
    auto group = v.string_value(it->second, where + " group");
    static const std::regex pattern("[A-Za-z_][A-Za-z0-9_]*");
    if (group && !std::regex_match(*group, pattern)) {
      v.error(Validator::value_position(it->second),
              where + " group '" + *group + "' is not an inventory group name",
              "use letters, digits and '_', e.g. build_agents");
      ok = false;
    }
    step.group = group.value_or(step.group);
  }
  if (auto it = fields->find("keep_python"); it != fields->end()) {
    auto keep = v.bool_value(it->second, where + " keep_python");
    ok = keep.has_value() && ok;
    step.keep_python = keep.value_or(false);
  }
  if (!ok)
    return std::nullopt;
  return step;
}

} // namespace kiln::spec
