#include "report/software.hpp"

#include "util/strings.hpp"

#include <ctime>
#include <map>

namespace kiln::report {

using nlohmann::json;

namespace {

std::string kernel_of(const image::Manifest& m)
{
  for (const auto& package : m.packages) {
    if (package.name.rfind("linux-image-", 0) == 0)
      return package.name + " " + package.version;
  }
  return "none in the image (the host's or the VM's at run time)";
}

std::string built_at(int64_t epoch)
{
  return util::format_utc(epoch, "%Y-%m-%d %H:%M UTC");
}

std::string base_of(const image::Manifest& m)
{
  if (!m.base.is_object())
    return "unknown";
  if (m.base.contains("image")) {
    const auto& parent = m.base["image"];
    return "image " + parent.value("name", "") + " " + parent.value("version", "");
  }
  if (m.base.contains("disk")) {
    const auto& disk = m.base["disk"];
    return "disk " + disk.value("image", disk.value("sha256", "").substr(0, 12)) + " (vm builder)";
  }
  if (m.base.contains("catalog"))
    return "catalog " + m.base["catalog"].get<std::string>();
  json bootstrap = m.base.value("bootstrap", json::object());
  return "bootstrap " + bootstrap.value("suite", "") + " " + bootstrap.value("variant", "");
}

// category -> [{name, version}], categories and names in order.
std::map<std::string, std::map<std::string, std::string>> grouped(const image::Manifest& m)
{
  std::map<std::string, std::map<std::string, std::string>> groups;
  for (const auto& tool : m.tools)
    groups[tool.category][tool.name] = tool.version.empty() ? "not found" : tool.version;
  return groups;
}

std::map<std::string, std::map<std::string, std::string>> requested(const image::Manifest& m)
{
  std::map<std::string, std::map<std::string, std::string>> groups;
  for (const auto& name : m.requested) {
    for (const auto& package : m.packages) {
      if (package.name == name)
        groups[category_of_section(package.section)][name] = package.version;
    }
  }
  return groups;
}

json groups_json(const std::map<std::string, std::map<std::string, std::string>>& groups)
{
  json list = json::array();
  for (const auto& [category, items] : groups) {
    json entries = json::array();
    for (const auto& [name, version] : items)
      entries.push_back({{"name", name}, {"version", version}});
    list.push_back({{"category", category}, {"items", entries}});
  }
  return list;
}

std::string groups_markdown(const std::map<std::string, std::map<std::string, std::string>>& groups)
{
  std::string text;
  for (const auto& [category, items] : groups) {
    text += "\n### " + category + "\n\n| Name | Version |\n|---|---|\n";
    for (const auto& [name, version] : items)
      text += "| " + name + " | " + version + " |\n";
  }
  return text;
}

} // namespace

std::string category_of_section(const std::string& section)
{
  static const std::map<std::string, std::string> categories = {
      {"vcs", "Version control"},
      {"devel", "Development"},
      {"interpreters", "Languages and runtimes"},
      {"python", "Languages and runtimes"},
      {"perl", "Languages and runtimes"},
      {"ruby", "Languages and runtimes"},
      {"java", "Languages and runtimes"},
      {"javascript", "Languages and runtimes"},
      {"golang", "Languages and runtimes"},
      {"rust", "Languages and runtimes"},
      {"web", "Network"},
      {"net", "Network"},
      {"httpd", "Network"},
      {"mail", "Network"},
      {"admin", "System"},
      {"utils", "Utilities"},
      {"text", "Utilities"},
      {"editors", "Utilities"},
      {"shells", "Utilities"},
      {"database", "Databases"},
      {"libs", "Libraries"},
      {"libdevel", "Libraries"},
  };
  auto it = categories.find(section);
  return it == categories.end() ? "Other" : it->second;
}

json software_report(const image::Manifest& m)
{
  return {{"image", {{"name", m.name}, {"version", m.version}}},
          {"os", m.os.pretty_name},
          {"kernel", kernel_of(m)},
          {"base", base_of(m)},
          {"built", built_at(m.source_date_epoch)},
          {"kiln_version", m.kiln_version},
          {"packages_installed", m.packages.size()},
          {"tools", groups_json(grouped(m))},
          {"packages", groups_json(requested(m))}};
}

std::string software_report_markdown(const image::Manifest& m)
{
  std::string text = "# " + m.name + " " + m.version + "\n\n";
  text += "- OS: " + (m.os.pretty_name.empty() ? std::string("unknown") : m.os.pretty_name) + "\n";
  text += "- Kernel: " + kernel_of(m) + "\n";
  text += "- Base: " + base_of(m) + "\n";
  text += "- Built: " + built_at(m.source_date_epoch) + " with kiln " + m.kiln_version + "\n";
  text += "- Packages installed: " + std::to_string(m.packages.size()) + "\n";
  if (m.tests.is_object())
    text += "- Tests: " + std::to_string(m.tests.value("total", 0)) + " passed\n";
  if (m.security.is_object()) {
    text += "- Security audit: " + std::to_string(m.security.value("pass", 0)) + " pass, " +
            std::to_string(m.security.value("fail", 0)) + " fail, " +
            std::to_string(m.security.value("waived", 0)) + " waived\n";
  }
  auto tools = grouped(m);
  if (!tools.empty())
    text += "\n## Tools\n" + groups_markdown(tools);
  auto packages = requested(m);
  if (!packages.empty())
    text += "\n## Packages the definition installs\n" + groups_markdown(packages);
  return text;
}

} // namespace kiln::report
