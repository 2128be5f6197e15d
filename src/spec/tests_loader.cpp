// Loading and checking `tests:` lists: the definition's, and a step's.
#include "spec/tests_loader.hpp"

#include "util/strings.hpp"

#include <map>
#include <regex>
#include <set>

namespace kiln::spec {

namespace {

// The options each kind of test takes, besides its kind key and name.
const std::map<std::string, std::vector<std::string>>& kind_options()
{
  static const std::map<std::string, std::vector<std::string>> options = {
      {"command", {"exit_code", "stdout", "stderr", "timeout", "as"}},
      {"file", {"exists", "type", "mode", "owner", "contains"}},
      {"package", {"version"}},
      {"user", {"shell", "groups"}},
      {"group", {}},
      {"service", {"active"}},
      {"port", {}},
      {"boot_time", {}},
  };
  return options;
}

// A regular expression as std::regex (ECMAScript) reads it; reports the error where it is.
bool check_regex(Validator& v, const Entry& entry, const std::string& text, const std::string& what)
{
  try {
    std::regex compiled(text, std::regex::ECMAScript | std::regex::multiline);
  } catch (const std::regex_error& e) {
    v.error(Validator::value_position(entry),
            what + " '" + text + "' is not a valid regular expression: " + e.what(),
            "write an ECMAScript regular expression, e.g. '^git version 2\\.'");
    return false;
  }
  return true;
}

bool load_command_options(Validator& v, const Entries& fields, const std::string& where,
                          ImageTest& test)
{
  bool ok = true;
  if (auto it = fields.find("exit_code"); it != fields.end()) {
    auto code = v.integer_value(it->second, where + " exit_code");
    ok = code.has_value() && ok;
    test.exit_code = code.value_or(0);
  }
  for (auto [key, target] :
       {std::pair{"stdout", &test.stdout_regex}, {"stderr", &test.stderr_regex}}) {
    if (auto it = fields.find(key); it != fields.end()) {
      auto text = v.string_value(it->second, where + " " + key);
      ok = text && check_regex(v, it->second, *text, where + " " + key) && ok;
      *target = text.value_or("");
    }
  }
  if (auto it = fields.find("timeout"); it != fields.end()) {
    auto text = v.string_value(it->second, where + " timeout");
    auto seconds = text ? util::parse_duration(*text) : std::nullopt;
    if (text && (!seconds || *seconds <= 0)) {
      v.error(Validator::value_position(it->second),
              where + " timeout '" + *text + "' is not a duration", "write e.g. 30s, 5m or 1h");
    }
    ok = seconds && *seconds > 0 && ok;
    test.timeout = static_cast<double>(seconds.value_or(60));
  }
  if (auto it = fields.find("as"); it != fields.end()) {
    auto user = v.string_value(it->second, where + " as");
    ok = user.has_value() && ok;
    test.user = user.value_or("");
  }
  return ok;
}

bool load_file_options(Validator& v, const Entries& fields, const std::string& where,
                       ImageTest& test)
{
  bool ok = v.check_image_path(fields.at("file"), test.subject, where + " file");
  if (auto it = fields.find("exists"); it != fields.end()) {
    auto exists = v.bool_value(it->second, where + " exists");
    ok = exists.has_value() && ok;
    test.exists = exists.value_or(true);
  }
  if (auto it = fields.find("type"); it != fields.end()) {
    auto type = v.string_value(it->second, where + " type");
    if (type && *type != "file" && *type != "directory" && *type != "link") {
      v.error(Validator::value_position(it->second),
              where + " type '" + *type + "' is not a file type", "use file, directory or link");
      ok = false;
    }
    test.type = type.value_or("");
  }
  if (auto it = fields.find("mode"); it != fields.end()) {
    test.mode = v.mode_value(it->second, where + " mode");
    ok = test.mode.has_value() && ok;
  }
  if (auto it = fields.find("owner"); it != fields.end()) {
    auto owner = v.string_value(it->second, where + " owner");
    ok = owner.has_value() && ok;
    test.owner = owner.value_or("");
  }
  if (auto it = fields.find("contains"); it != fields.end()) {
    auto text = v.string_value(it->second, where + " contains");
    ok = text && check_regex(v, it->second, *text, where + " contains") && ok;
    test.content_regex = text.value_or("");
  }
  if (!test.exists && (fields.size() > 2 + fields.count("name"))) {
    v.error(position_of(fields.at("exists").key), where + " checks an absent file's properties",
            "with exists: false, give no type, mode, owner or contains");
    ok = false;
  }
  return ok;
}

// port: N (1-65535) and boot_time: SECONDS (a duration); service's `active`.
bool load_running_options(Validator& v, const Entries& fields, const std::string& where,
                          ImageTest& test)
{
  const Entry& subject = fields.at(test.kind);
  if (test.kind == "port") {
    bool digits = !test.subject.empty() && test.subject.size() <= 5 &&
                  test.subject.find_first_not_of("0123456789") == std::string::npos;
    if (!digits || std::stoi(test.subject) < 1 || std::stoi(test.subject) > 65535) {
      v.error(Validator::value_position(subject),
              where + " port '" + test.subject + "' is not a TCP port",
              "give a number from 1 to 65535, e.g. port: 22");
      return false;
    }
    return true;
  }
  if (test.kind == "boot_time") {
    auto seconds = util::parse_duration(test.subject);
    if (!seconds || *seconds <= 0) {
      v.error(Validator::value_position(subject),
              where + " boot_time '" + test.subject + "' is not a duration",
              "write the longest boot allowed, e.g. 90s or 3m");
      return false;
    }
    test.subject = std::to_string(*seconds);
    return true;
  }
  if (auto it = fields.find("active"); it != fields.end()) {
    auto active = v.bool_value(it->second, where + " active");
    test.active = active.value_or(false);
    return active.has_value();
  }
  return true;
}

bool load_kind_options(Validator& v, const Entries& fields, const std::string& where,
                       ImageTest& test)
{
  if (test.kind == "port" || test.kind == "boot_time" || test.kind == "service")
    return load_running_options(v, fields, where, test);
  if (test.kind == "command")
    return load_command_options(v, fields, where, test);
  if (test.kind == "file")
    return load_file_options(v, fields, where, test);
  bool ok = true;
  if (auto it = fields.find("version"); it != fields.end()) {
    auto text = v.string_value(it->second, where + " version");
    static const std::regex constraint("(>=|<=|=|>>|<<) *[0-9][A-Za-z0-9.+~:-]*");
    if (text && !std::regex_match(*text, constraint)) {
      v.error(Validator::value_position(it->second),
              where + " version '" + *text + "' is not a version constraint",
              "write an operator and a Debian version, e.g. '>= 1:2.39' (>=, <=, =, >>, <<)");
      ok = false;
    }
    test.version = text.value_or("");
  }
  if (auto it = fields.find("shell"); it != fields.end()) {
    auto shell = v.string_value(it->second, where + " shell");
    ok = shell && v.check_image_path(it->second, *shell, where + " shell") && ok;
    test.shell = shell.value_or("");
  }
  if (auto it = fields.find("groups"); it != fields.end()) {
    auto groups = v.string_list(it->second, where + " groups");
    ok = groups.has_value() && ok;
    test.groups = groups.value_or(std::vector<std::string>{});
  }
  return ok;
}

std::optional<ImageTest> load_test(Validator& v, const YAML::Node& node, const std::string& where)
{
  size_t errors_before = v.diagnostics().size();
  auto fields = v.mapping(node, position_of(node), shape("test"), where);
  if (!fields)
    return std::nullopt;
  std::vector<std::string> kinds;
  for (auto kind : kTestKinds) {
    if (fields->count(std::string(kind)))
      kinds.emplace_back(kind);
  }
  if (kinds.empty() && v.diagnostics().size() > errors_before)
    return std::nullopt; // an unknown kind was already reported, with a suggestion
  if (kinds.size() != 1) {
    v.error(position_of(node),
            where + (kinds.empty() ? " has no kind"
                                   : " has more than one kind (" + util::join(kinds, ", ") + ")"),
            "give it exactly one of: command, file, package, user, group, service, port, "
            "boot_time");
    return std::nullopt;
  }
  ImageTest test;
  test.kind = kinds[0];
  test.position = position_of(node);
  auto subject = v.string_value(fields->at(test.kind), where + " " + test.kind);
  if (!subject)
    return std::nullopt;
  test.subject = *subject;
  test.name = test.kind + " " + test.subject;
  if (auto it = fields->find("name"); it != fields->end()) {
    auto name = v.string_value(it->second, where + " name");
    if (!name)
      return std::nullopt;
    test.name = *name;
  }
  const auto& allowed = kind_options().at(test.kind);
  bool ok = true;
  for (const auto& [key, entry] : *fields) {
    if (key == "name" || key == test.kind ||
        std::find(allowed.begin(), allowed.end(), key) != allowed.end())
      continue;
    v.error(position_of(entry.key),
            where + " is a " + test.kind + " test, which has no '" + key + "'",
            allowed.empty() ? "a " + test.kind + " test takes only name"
                            : "a " + test.kind + " test takes: name, " + util::join(allowed, ", "));
    ok = false;
  }
  if (!load_kind_options(v, *fields, where, test) || !ok)
    return std::nullopt;
  return test;
}

} // namespace

std::vector<ImageTest> load_tests(Validator& v, const Entry& entry, const std::string& where,
                                  bool* boot)
{
  std::vector<ImageTest> tests;
  if (!v.is_list(entry, where, "write each test as a '- command: ...' item"))
    return tests;
  std::map<std::string, Position> seen;
  int number = 0;
  for (const auto& node : entry.value) {
    if (node.IsMap() && node.size() == 1 && node["boot"]) {
      ++number;
      if (!boot) {
        v.error(position_of(node),
                where + " item " + std::to_string(number) +
                    ": boot belongs in the definition's own tests",
                "move '- boot: true' to the top-level tests: list");
        continue;
      }
      try {
        *boot = node["boot"].as<bool>();
      } catch (const YAML::Exception&) {
        v.error(position_of(node), where + " boot must be true or false");
      }
      continue;
    }
    auto test = load_test(v, node, where + " item " + std::to_string(++number));
    if (!test)
      continue;
    if (auto [it, inserted] = seen.emplace(test->name, test->position); !inserted) {
      v.error(test->position,
              where + " has two tests named '" + test->name + "' (first at line " +
                  std::to_string(it->second.line) + ")",
              "give each test its own name");
      continue;
    }
    tests.push_back(std::move(*test));
  }
  return tests;
}

std::vector<ReportCommand> load_report(Validator& v, const Entry& entry)
{
  std::vector<ReportCommand> items;
  if (!v.is_list(entry, "report", "write each tool as '- {name: Git, command: git --version}'"))
    return items;
  std::set<std::string> names;
  int number = 0;
  for (const auto& node : entry.value) {
    std::string where = "report item " + std::to_string(++number);
    auto fields = v.mapping(node, position_of(node), shape("report_item"), where);
    if (!fields || !fields->count("name") || !fields->count("command"))
      continue;
    auto name = v.string_value(fields->at("name"), where + " name");
    auto command = v.string_value(fields->at("command"), where + " command");
    std::optional<std::string> category = "Tools";
    if (auto it = fields->find("category"); it != fields->end())
      category = v.string_value(it->second, where + " category");
    if (!name || !command || !category)
      continue;
    if (!names.insert(*name).second) {
      v.error(position_of(node), where + " names '" + *name + "' a second time",
              "list each tool once");
      continue;
    }
    items.push_back({*name, *command, *category, position_of(node)});
  }
  return items;
}

} // namespace kiln::spec
