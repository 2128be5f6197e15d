#include "bake/exporters/registry.hpp"

#include "bake/exporters/disk.hpp"
#include "bake/exporters/tar.hpp"

#include <algorithm>
#include <functional>

namespace kiln::bake {

namespace {

using Factory = std::function<std::unique_ptr<Exporter>(const spec::Definition&)>;

struct Registered {
  const char* name;
  Factory make;
};

// The table of output kinds, by the name `outputs:` uses, in the order they are written (the
// converted disks read the raw one).
const std::vector<Registered>& registry()
{
  static const std::vector<Registered> table = {
      {"rootfs", [](const spec::Definition&) { return make_tar_exporter(); }},
      {"raw", [](const spec::Definition& d) { return make_disk_exporter("raw", d); }},
      {"qcow2", [](const spec::Definition& d) { return make_disk_exporter("qcow2", d); }},
      {"vmdk", [](const spec::Definition& d) { return make_disk_exporter("vmdk", d); }},
      {"vhd", [](const spec::Definition& d) { return make_disk_exporter("vhd", d); }},
  };
  return table;
}

} // namespace

Expected<std::vector<std::unique_ptr<Exporter>>> exporters_for(const spec::Definition& definition)
{
  for (const auto& output : definition.outputs) {
    bool known = false;
    for (const auto& entry : registry())
      known = known || output == entry.name;
    if (!known)
      return make_error(ExitCode::invalid_definition,
                        "output '" + output + "' is not available in this version of kiln");
  }
  std::vector<std::unique_ptr<Exporter>> exporters;
  for (const auto& entry : registry()) {
    const auto& wanted = definition.outputs;
    if (std::find(wanted.begin(), wanted.end(), entry.name) != wanted.end())
      exporters.push_back(entry.make(definition));
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
