#include "image/dpkg.hpp"

#include "image/licenses.hpp"
#include "util/fs.hpp"

#include <algorithm>
#include <sstream>

namespace kiln::image {

std::vector<Package> parse_dpkg_status(const std::string& text)
{
  std::vector<Package> packages;
  Package current;
  bool installed = false;
  auto finish = [&] {
    if (installed && !current.name.empty())
      packages.push_back(current);
    current = Package{};
    installed = false;
  };
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) {
      finish();
      continue;
    }
    if (line[0] == ' ' || line[0] == '\t')
      continue; // continuation of a multi-line field
    size_t colon = line.find(':');
    if (colon == std::string::npos)
      continue;
    std::string field = line.substr(0, colon);
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    if (field == "Package")
      current.name = value;
    else if (field == "Version")
      current.version = value;
    else if (field == "Architecture")
      current.architecture = value;
    else if (field == "Source")
      current.source = value.substr(0, value.find(' ')); // "name (version)" when they differ
    else if (field == "Section")
      current.section = value.substr(value.find('/') + 1); // "contrib/devel" -> "devel"
    else if (field == "Description")
      current.summary = value;
    else if (field == "Status")
      installed = value == "install ok installed";
  }
  finish();
  std::sort(packages.begin(), packages.end(), [](const Package& a, const Package& b) {
    return std::tie(a.name, a.architecture) < std::tie(b.name, b.architecture);
  });
  return packages;
}

Expected<std::vector<Package>> installed_packages(const std::filesystem::path& tree)
{
  auto text = util::read_file(tree / "var/lib/dpkg/status");
  if (!text)
    return std::move(text).error();
  return parse_dpkg_status(*text);
}

Expected<std::vector<Package>> installed_packages_with_licenses(const std::filesystem::path& tree)
{
  auto packages = installed_packages(tree);
  if (!packages)
    return packages;
  for (auto& package : *packages) {
    if (auto license = package_license(tree, package.name)) {
      package.license = license->debian;
      package.license_spdx = license->spdx;
    }
  }
  return packages;
}

nlohmann::json to_json(const Package& p)
{
  nlohmann::json j = {{"name", p.name}, {"version", p.version}, {"architecture", p.architecture}};
  for (const auto& [key, value] : {std::pair{"source", &p.source},
                                   {"section", &p.section},
                                   {"summary", &p.summary},
                                   {"license", &p.license},
                                   {"license_spdx", &p.license_spdx},
                                   {"sha256", &p.sha256}}) {
    if (!value->empty())
      j[key] = *value;
  }
  return j;
}

Package package_from_json(const nlohmann::json& j)
{
  return {j.at("name"),           j.at("version"),
          j.at("architecture"),   j.value("source", ""),
          j.value("section", ""), j.value("summary", ""),
          j.value("license", ""), j.value("license_spdx", ""),
          j.value("sha256", "")};
}

OsRelease read_os_release(const std::filesystem::path& tree)
{
  OsRelease os;
  // /etc/os-release is usually a link to ../usr/lib/os-release.
  auto text = util::read_file(tree / "usr/lib/os-release");
  if (!text)
    text = util::read_file(tree / "etc/os-release");
  if (!text)
    return os;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    size_t equals = line.find('=');
    if (equals == std::string::npos)
      continue;
    std::string key = line.substr(0, equals);
    std::string value = line.substr(equals + 1);
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front())
      value = value.substr(1, value.size() - 2);
    if (key == "ID")
      os.id = value;
    else if (key == "VERSION_ID")
      os.version_id = value;
    else if (key == "PRETTY_NAME")
      os.pretty_name = value;
  }
  return os;
}

nlohmann::json to_json(const OsRelease& os)
{
  return {{"id", os.id}, {"version_id", os.version_id}, {"pretty_name", os.pretty_name}};
}

OsRelease os_release_from_json(const nlohmann::json& j)
{
  return {j.value("id", ""), j.value("version_id", ""), j.value("pretty_name", "")};
}

} // namespace kiln::image
