// Reading YAML that someone else wrote (a definition, kiln.yaml, a catalog) within bounds.
//
// yaml-cpp parses aliases as shared nodes, so a few hundred bytes of "billion laughs" become a
// tree that walking (converting to JSON, validating) expands to billions of values. Before any
// caller walks it, the document is walked once here with a budget of values and a depth limit,
// and refused at the position where it ran out. The text must also be UTF-8, with one document.
#pragma once

#include "util/error.hpp"

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <variant>
#include <yaml-cpp/yaml.h>

namespace kiln::util {

inline constexpr size_t kMaxYamlValues = 100000; // every scalar, sequence and mapping, expanded
inline constexpr int kMaxYamlDepth = 64;

struct YamlProblem {
  int line = 0; // 1-based
  int column = 0;
  std::string message;
  std::string hint;
};

// The position of the first byte that is not part of valid UTF-8 (overlong forms and UTF-16
// surrogates included), or std::string::npos.
size_t first_invalid_utf8(std::string_view text);

// One YAML document from `text`, or what is wrong with it and where. An empty text gives a null
// node.
std::variant<YAML::Node, YamlProblem> parse_yaml(std::string_view text);

// The same for a file of at most `max_bytes`; errors read "FILE:LINE:COL: MESSAGE" with `code`.
Expected<YAML::Node> load_yaml_file(const std::filesystem::path& file, size_t max_bytes,
                                    ExitCode code);

} // namespace kiln::util
