// The keys each mapping of the definition may hold, with their types and descriptions.
//
// One table serves both the validator (unknown keys, did-you-mean, required keys) and the JSON
// Schema that `kiln schema` prints, so the two cannot drift apart.
#pragma once

#include <string_view>
#include <vector>

namespace kiln::spec {

enum class FieldType {
  string,
  string_list,
  integer,
  mode,      // octal permission bits written as a string, e.g. "0755"
  object,    // a nested mapping with its own shape
  step_list, // the list of steps
  shell,     // a string (inline script) or a mapping
  boolean,
  object_list, // a list of mappings with one shape
  secrets,     // a mapping of secret names to their sources
  variables,   // a mapping of names to any YAML values (Ansible's extra vars)
};

struct Field {
  std::string_view key;
  FieldType type;
  bool required;
  std::string_view description;
  std::string_view shape = {}; // for object and shell fields: the nested shape's name
};

struct Shape {
  std::string_view name; // "definition", "base", "bootstrap", "step", "shell", "file", "artifact"
  std::string_view description;
  std::vector<Field> fields;
};

const std::vector<Shape>& shapes();
const Shape& shape(std::string_view name);
std::vector<std::string_view> keys_of(const Shape& shape);

// The step kinds: the keys of the step shape that are not "name".
const std::vector<std::string_view>& step_kinds();

} // namespace kiln::spec
