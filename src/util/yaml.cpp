#include "util/yaml.hpp"

#include "util/fs.hpp"

#include <optional>
#include <vector>

namespace kiln::util {

namespace {

// The length of the UTF-8 sequence starting at `at`, or 0 when it is not valid.
size_t sequence_length(std::string_view text, size_t at)
{
  auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  unsigned char lead = byte(at);
  if (lead < 0x80)
    return 1;
  size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC2 ? 2 : 0;
  if (length == 0 || lead > 0xF4 || at + length > text.size())
    return 0;
  for (size_t i = 1; i < length; ++i) {
    if ((byte(at + i) & 0xC0) != 0x80)
      return 0;
  }
  unsigned char second = byte(at + 1);
  if ((lead == 0xE0 && second < 0xA0) ||  // overlong
      (lead == 0xED && second >= 0xA0) || // UTF-16 surrogates
      (lead == 0xF0 && second < 0x90) ||  // overlong
      (lead == 0xF4 && second >= 0x90))   // beyond U+10FFFF
    return 0;
  return length;
}

YamlProblem problem_at(std::string_view text, size_t offset, std::string message, std::string hint)
{
  YamlProblem problem{1, 1, std::move(message), std::move(hint)};
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++problem.line;
      problem.column = 1;
    } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      ++problem.column; // columns count characters, not bytes
    }
  }
  return problem;
}

YamlProblem problem_at(const YAML::Mark& mark, std::string message, std::string hint)
{
  return YamlProblem{mark.line + 1, mark.column + 1, std::move(message), std::move(hint)};
}

// Walks `node` as every later reader would, aliases expanded, until the budget runs out.
std::optional<YamlProblem> walk(const YAML::Node& node, int depth, size_t& values)
{
  if (++values > kMaxYamlValues)
    return problem_at(node.Mark(),
                      "the document expands to more than " + std::to_string(kMaxYamlValues) +
                          " values",
                      "YAML aliases (*name) repeat what they point to; a definition needs far "
                      "fewer values");
  if (depth > kMaxYamlDepth)
    return problem_at(node.Mark(),
                      "values are nested more than " + std::to_string(kMaxYamlDepth) + " deep",
                      "flatten the structure");
  if (node.IsSequence()) {
    for (const auto& item : node) {
      if (auto problem = walk(item, depth + 1, values))
        return problem;
    }
  } else if (node.IsMap()) {
    for (const auto& item : node) {
      if (auto problem = walk(item.first, depth + 1, values))
        return problem;
      if (auto problem = walk(item.second, depth + 1, values))
        return problem;
    }
  }
  return std::nullopt;
}

} // namespace

size_t first_invalid_utf8(std::string_view text)
{
  for (size_t at = 0; at < text.size();) {
    size_t length = sequence_length(text, at);
    if (length == 0)
      return at;
    at += length;
  }
  return std::string::npos;
}

std::variant<YAML::Node, YamlProblem> parse_yaml(std::string_view text)
{
  if (size_t bad = first_invalid_utf8(text); bad != std::string::npos)
    return problem_at(text, bad, "the text is not valid UTF-8 here",
                      "save the file as UTF-8 (the byte at this position cannot start or "
                      "continue a character)");
  if (text.find('\0') != std::string_view::npos)
    return problem_at(text, text.find('\0'), "the text holds a NUL byte",
                      "save the file as UTF-8 text");
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    return problem_at(e.mark, "YAML syntax: " + e.msg,
                      "check indentation (spaces only) and brackets near this position");
  }
  if (documents.empty())
    return YAML::Node();
  if (documents.size() > 1)
    return problem_at(documents[1].Mark(),
                      "a second YAML document starts here; kiln reads one document per file",
                      "remove the '---' line and what follows, or merge it into the first "
                      "document");
  size_t values = 0;
  if (auto problem = walk(documents[0], 0, values))
    return *problem;
  return documents[0];
}

Expected<YAML::Node> load_yaml_file(const std::filesystem::path& file, size_t max_bytes,
                                    ExitCode code)
{
  auto text = read_file_bounded(file, max_bytes);
  if (!text) {
    Error error = std::move(text).error();
    error.code = code;
    return error;
  }
  auto parsed = parse_yaml(*text);
  if (auto* problem = std::get_if<YamlProblem>(&parsed))
    return make_error(code,
                      file.string() + ":" + std::to_string(problem->line) + ":" +
                          std::to_string(problem->column) + ": " + problem->message,
                      problem->hint);
  return std::get<YAML::Node>(std::move(parsed));
}

} // namespace kiln::util
