// Internal to spec/: the checking helpers the loader is built from. Each helper reports what is
// wrong as a Diagnostic with the YAML position and returns nullopt, so that loading goes on and
// every problem of a definition is reported in one run.
#pragma once

#include "spec/diagnostic.hpp"
#include "spec/fields.hpp"

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>
#include <yaml-cpp/yaml.h>

namespace kiln::spec {

struct Entry {
  YAML::Node key;
  YAML::Node value;
};
using Entries = std::map<std::string, Entry>;

Position position_of(const YAML::Node& node);

class Validator {
public:
  Validator(std::string file, std::filesystem::path dir, std::filesystem::path catalog = {})
      : file_(std::move(file)), dir_(std::move(dir)), catalog_(std::move(catalog))
  {
  }

  std::vector<Diagnostic>& diagnostics() { return diagnostics_; }
  const std::filesystem::path& dir() const { return dir_; }
  const std::filesystem::path& catalog() const { return catalog_; } // the user's catalog file

  void error(Position at, std::string message, std::string hint = {});

  // The position of an entry's value, or of its key when the value is empty.
  static Position value_position(const Entry& entry);

  // Checks that `node` is a mapping whose keys all belong to `shape`, appear once, and include
  // every required one. `at` is where to report a missing key; `where` names the mapping.
  std::optional<Entries> mapping(const YAML::Node& node, Position at, const Shape& shape,
                                 const std::string& where);

  std::optional<std::string> string_value(const Entry& entry, const std::string& what);
  std::optional<std::vector<std::string>> string_list(const Entry& entry, const std::string& what);
  std::optional<int> integer_value(const Entry& entry, const std::string& what);
  std::optional<mode_t> mode_value(const Entry& entry, const std::string& what);
  std::optional<bool> bool_value(const Entry& entry, const std::string& what);
  // True when the entry is a list of items; otherwise reports "WHAT must be a list".
  bool is_list(const Entry& entry, const std::string& what, const std::string& hint);

  // A path relative to the definition's folder that must exist and stay inside it.
  bool check_relative_input(const Entry& entry, const std::string& path, const std::string& what);
  // An absolute path inside the image.
  bool check_image_path(const Entry& entry, const std::string& path, const std::string& what);

private:
  std::string file_;
  std::filesystem::path dir_;
  std::filesystem::path catalog_;
  std::vector<Diagnostic> diagnostics_;
};

} // namespace kiln::spec
