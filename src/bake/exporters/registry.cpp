#include "bake/exporters/registry.hpp"

#include "bake/exporters/tar.hpp"

#include <functional>

namespace kiln::bake {

namespace {

using Factory = std::function<std::unique_ptr<Exporter>(const spec::Definition&)>;

struct Registered {
  const char* name;
  Factory make;
};

// The table of output kinds, by the name `outputs:` uses.
const std::vector<Registered>& registry()
{
  static const std::vector<Registered> table = {
      {"rootfs", [](const spec::Definition&) { return make_tar_exporter(); }},
  };
  return table;
}

} // namespace

Expected<std::vector<std::unique_ptr<Exporter>>> exporters_for(const spec::Definition& definition)
{
  std::vector<std::unique_ptr<Exporter>> exporters;
  for (const auto& output : definition.outputs) {
    const Registered* found = nullptr;
    for (const auto& entry : registry()) {
      if (output == entry.name)
        found = &entry;
    }
    if (!found)
      return make_error(ExitCode::invalid_definition,
                        "output '" + output + "' is not available in this version of kiln");
    exporters.push_back(found->make(definition));
  }
  return exporters;
}

std::vector<std::string> export_key_parts(const std::vector<std::unique_ptr<Exporter>>& exporters)
{
  std::vector<std::string> parts;
  for (const auto& exporter : exporters)
    parts.push_back(exporter->name() + ":" + exporter->key_part());
  return parts;
}

std::vector<std::string> all_output_files()
{
  spec::Definition none;
  std::vector<std::string> files;
  for (const auto& entry : registry())
    files.push_back(entry.make(none)->file());
  return files;
}

std::vector<std::string> exporter_names()
{
  std::vector<std::string> names;
  for (const auto& entry : registry())
    names.emplace_back(entry.name);
  return names;
}

} // namespace kiln::bake
