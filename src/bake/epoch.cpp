#include "bake/epoch.hpp"

#include "spec/loader.hpp"
#include "util/fs.hpp"
#include "util/git.hpp"
#include "util/yaml.hpp"

#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

namespace kiln::bake {

Expected<std::optional<int64_t>> given_source_date_epoch(std::optional<int64_t> flag)
{
  if (flag)
    return flag;
  const char* env = std::getenv("SOURCE_DATE_EPOCH");
  if (!env || !*env)
    return std::optional<int64_t>();
  std::string text = env;
  bool digits = text.size() <= 12 && text.find_first_not_of("0123456789") == std::string::npos;
  if (!digits)
    return make_error(ExitCode::usage,
                      "SOURCE_DATE_EPOCH '" + text + "' is not a number of seconds",
                      "set it to a Unix time, e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct), "
                      "or unset it");
  return std::optional<int64_t>(std::stoll(text));
}

namespace {

// A YAML value as text that is equal for equal values, whatever their style (flow or block,
// quoting, key order, comments).
void canonical(const YAML::Node& node, std::string& out)
{
  if (node.IsMap()) {
    std::map<std::string, YAML::Node> sorted;
    for (const auto& entry : node)
      sorted.emplace(entry.first.Scalar(), entry.second);
    out += '{';
    for (const auto& [key, value] : sorted) {
      out += nlohmann::json(key).dump() + ':';
      canonical(value, out);
      out += ',';
    }
    out += '}';
  } else if (node.IsSequence()) {
    out += '[';
    for (const auto& item : node) {
      canonical(item, out);
      out += ',';
    }
    out += ']';
  } else if (node.IsScalar()) {
    out += nlohmann::json(node.Scalar()).dump();
  }
}

// The `base:` of a definition's text, canonical; nullopt when the text has none or is not YAML.
std::optional<std::string> base_section(std::string_view text)
{
  auto parsed = util::parse_yaml(text);
  const auto* root = std::get_if<YAML::Node>(&parsed);
  if (!root || !root->IsMap())
    return std::nullopt;
  const YAML::Node& document = *root;
  if (!document["base"])
    return std::nullopt;
  std::string out;
  canonical(document["base"], out);
  return out;
}

} // namespace

int64_t base_epoch_of(const spec::Definition& definition)
{
  auto history = util::git_file_history(definition.file, kMaxBaseHistory);
  if (history.empty()) {
    struct stat st {};
    return ::stat(definition.file.c_str(), &st) == 0 ? st.st_mtime : 0;
  }
  auto text = util::read_file_bounded(definition.file, spec::kMaxDefinitionBytes, "a definition");
  auto current = text ? base_section(*text) : std::nullopt;
  int64_t epoch = history.front().time;
  for (const auto& commit : history) {
    auto then = util::git_file_at(definition.file, commit.id, spec::kMaxDefinitionBytes);
    if (!current || !then || base_section(*then) != current)
      break;
    epoch = commit.time; // the base was already as it is now
  }
  return epoch;
}

} // namespace kiln::bake
