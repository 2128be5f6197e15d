#include "spec/catalog.hpp"

#include "util/yaml.hpp"

#include <filesystem>
#include <yaml-cpp/yaml.h>

namespace kiln::spec {

namespace {

std::vector<CatalogEntry> built_in()
{
  Bootstrap minimal;
  minimal.packages = {"ca-certificates"};
  return {
      {"debian-12-minimal", "Debian 12 (bookworm) minbase with CA certificates", minimal, "",
       "built in"},
      {"debian-12-cis", "debian-12-minimal hardened with the cis-level1 security baseline", minimal,
       "cis-level1", "built in"},
  };
}

std::vector<std::string> strings(const YAML::Node& node)
{
  std::vector<std::string> out;
  for (const auto& item : node)
    out.push_back(item.as<std::string>());
  return out;
}

Expected<CatalogEntry> parse_entry(const YAML::Node& node, const std::string& file)
{
  CatalogEntry entry;
  entry.source = file;
  entry.name = node["name"].as<std::string>();
  entry.description = node["description"] ? node["description"].as<std::string>() : "";
  if (auto boot = node["bootstrap"]) {
    if (boot["suite"])
      entry.bootstrap.suite = boot["suite"].as<std::string>();
    if (boot["variant"])
      entry.bootstrap.variant = boot["variant"].as<std::string>();
    if (boot["mirror"])
      entry.bootstrap.mirror = boot["mirror"].as<std::string>();
    if (boot["components"])
      entry.bootstrap.components = strings(boot["components"]);
    if (boot["packages"])
      entry.bootstrap.packages = strings(boot["packages"]);
  }
  if (node["security_baseline"])
    entry.security_baseline = node["security_baseline"].as<std::string>();
  if (!entry.security_baseline.empty() && entry.security_baseline != "cis-level1")
    return make_error(ExitCode::invalid_definition,
                      file + ": catalog entry " + entry.name + " names an unknown baseline",
                      "use security_baseline: cis-level1, or leave it out");
  return entry;
}

} // namespace

Expected<std::vector<CatalogEntry>> catalog(const std::filesystem::path& file)
{
  auto entries = built_in();
  if (file.empty())
    return entries;
  auto loaded = util::load_yaml_file(file, 1 << 20, ExitCode::invalid_definition);
  if (!loaded)
    return std::move(loaded).error();
  try {
    const YAML::Node& root = *loaded;
    for (const auto& node : root["images"]) {
      auto entry = parse_entry(node, file.string());
      if (!entry)
        return std::move(entry).error();
      std::erase_if(entries, [&](const CatalogEntry& e) { return e.name == entry->name; });
      entries.push_back(std::move(*entry));
    }
  } catch (const YAML::Exception& e) {
    return make_error(ExitCode::invalid_definition,
                      "cannot read the catalog " + file.string() + ": " + e.what(),
                      "fix the file: images: [{name: ..., description: ..., bootstrap: {...}}]");
  }
  return entries;
}

} // namespace kiln::spec
