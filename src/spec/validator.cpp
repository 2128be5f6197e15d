#include "spec/validator.hpp"

#include "util/fs.hpp"
#include "util/strings.hpp"

#include <sys/stat.h>

namespace kiln::spec {

namespace fs = std::filesystem;

Position position_of(const YAML::Node& node)
{
  const YAML::Mark mark = node.Mark();
  if (mark.is_null())
    return {};
  return {mark.line + 1, mark.column + 1};
}

static std::string describe(const YAML::Node& node)
{
  switch (node.Type()) {
  case YAML::NodeType::Sequence:
    return "a list";
  case YAML::NodeType::Map:
    return "a mapping";
  case YAML::NodeType::Null:
  case YAML::NodeType::Undefined:
    return "empty";
  default:
    return "a single value";
  }
}

void Validator::error(Position at, std::string message, std::string hint)
{
  diagnostics_.push_back(Diagnostic{file_, at, std::move(message), std::move(hint)});
}

Position Validator::value_position(const Entry& entry)
{
  if (entry.value.IsNull())
    return position_of(entry.key);
  return position_of(entry.value);
}

std::optional<Entries> Validator::mapping(const YAML::Node& node, Position at, const Shape& shape,
                                          const std::string& where)
{
  const auto known = keys_of(shape);
  const std::string all = util::join(std::vector<std::string>(known.begin(), known.end()), ", ");
  if (!node.IsMap()) {
    error(node.IsNull() ? at : position_of(node),
          where + " must be a mapping, not " + describe(node),
          "write it as 'key: value' lines; " + where + " takes: " + all);
    return std::nullopt;
  }
  Entries entries;
  std::vector<std::string> suggested; // keys a typo probably meant: not reported as missing too
  for (const auto& pair : node) {
    const std::string key = pair.first.IsScalar() ? pair.first.Scalar() : "";
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      std::string suggestion = util::closest_match(key, known);
      suggested.push_back(suggestion);
      error(position_of(pair.first), "unknown key '" + key + "' in " + where,
            suggestion.empty() ? where + " takes: " + all
                               : "did you mean '" + suggestion + "'? " + where + " takes: " + all);
      continue;
    }
    if (auto [it, inserted] = entries.emplace(key, Entry{pair.first, pair.second}); !inserted) {
      error(position_of(pair.first),
            "key '" + key + "' appears twice in " + where + " (first at line " +
                std::to_string(position_of(it->second.key).line) + ")",
            "keep one of them");
    }
  }
  for (const auto& field : shape.fields) {
    std::string key(field.key);
    bool was_suggested = std::find(suggested.begin(), suggested.end(), key) != suggested.end();
    if (field.required && !entries.count(key) && !was_suggested)
      error(at, "missing required key '" + key + "' in " + where,
            "add '" + key + ":': " + std::string(field.description));
  }
  return entries;
}

std::optional<std::string> Validator::string_value(const Entry& entry, const std::string& what)
{
  if (!entry.value.IsScalar()) {
    error(value_position(entry), what + " must be a string, not " + describe(entry.value),
          entry.value.IsNull() ? "give it a value" : "write a single value");
    return std::nullopt;
  }
  return entry.value.Scalar();
}

std::optional<std::vector<std::string>> Validator::string_list(const Entry& entry,
                                                               const std::string& what)
{
  if (!entry.value.IsSequence()) {
    error(value_position(entry), what + " must be a list, not " + describe(entry.value),
          "write it as [a, b] or as '- a' lines");
    return std::nullopt;
  }
  std::vector<std::string> items;
  bool ok = true;
  for (const auto& item : entry.value) {
    if (!item.IsScalar()) {
      error(position_of(item), "each item of " + what + " must be a string, not " + describe(item),
            "write one plain value per item");
      ok = false;
      continue;
    }
    items.push_back(item.Scalar());
  }
  if (!ok)
    return std::nullopt;
  return items;
}

std::optional<int> Validator::integer_value(const Entry& entry, const std::string& what)
{
  auto text = string_value(entry, what);
  if (!text)
    return std::nullopt;
  bool digits =
      !text->empty() && text->size() < 6 &&
      std::all_of(text->begin(), text->end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits) {
    error(value_position(entry), what + " must be a whole number from 0, not '" + *text + "'",
          "e.g. " + what.substr(what.rfind(' ') + 1) + ": 1");
    return std::nullopt;
  }
  return std::stoi(*text);
}

std::optional<mode_t> Validator::mode_value(const Entry& entry, const std::string& what)
{
  auto text = string_value(entry, what);
  if (!text)
    return std::nullopt;
  bool octal = (text->size() == 3 || text->size() == 4) &&
               std::all_of(text->begin(), text->end(), [](char c) { return c >= '0' && c <= '7'; });
  if (!octal) {
    error(value_position(entry), what + " '" + *text + "' is not an octal permission mode",
          "write three or four octal digits in quotes, e.g. mode: \"0644\"");
    return std::nullopt;
  }
  return static_cast<mode_t>(std::stoul(*text, nullptr, 8));
}

bool Validator::is_list(const Entry& entry, const std::string& what, const std::string& hint)
{
  if (entry.value.IsSequence())
    return true;
  error(value_position(entry), what + " must be a list", hint);
  return false;
}

std::optional<bool> Validator::bool_value(const Entry& entry, const std::string& what)
{
  auto text = string_value(entry, what);
  if (!text)
    return std::nullopt;
  if (*text == "true")
    return true;
  if (*text == "false")
    return false;
  error(value_position(entry), what + " must be true or false, not '" + *text + "'",
        "write " + what.substr(what.rfind(' ') + 1) + ": true");
  return std::nullopt;
}

bool Validator::check_relative_input(const Entry& entry, const std::string& path,
                                     const std::string& what)
{
  Position at = value_position(entry);
  if (path.empty() || fs::path(path).is_absolute() || !util::lexically_within(dir_, path)) {
    error(at, what + " '" + path + "' is outside the definition's folder",
          "put the file next to the definition (or below it) and give a relative path");
    return false;
  }
  struct stat st {};
  if (::lstat((dir_ / path).c_str(), &st) != 0) {
    error(at, what + " '" + path + "' does not exist (looked in " + dir_.string() + ")",
          "check the path; it is relative to the definition's folder");
    return false;
  }
  std::error_code ec;
  fs::path real = fs::weakly_canonical(dir_ / path, ec);
  fs::path real_dir = fs::weakly_canonical(dir_, ec);
  if (!util::lexically_within(real_dir, real)) {
    error(at, what + " '" + path + "' is a link that leads outside the definition's folder",
          "copy the file into the definition's folder instead of linking to it");
    return false;
  }
  return true;
}

bool Validator::check_image_path(const Entry& entry, const std::string& path,
                                 const std::string& what)
{
  fs::path p(path);
  bool climbs = std::any_of(p.begin(), p.end(), [](const fs::path& part) { return part == ".."; });
  if (!p.is_absolute() || climbs || p.lexically_normal() == "/") {
    error(value_position(entry), what + " '" + path + "' must be an absolute path in the image",
          "write a path such as /opt/tool, without '..'");
    return false;
  }
  return true;
}

} // namespace kiln::spec
