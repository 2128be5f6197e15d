// Reading the dpkg database of a tree.
#pragma once

#include "util/error.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace kiln::image {

struct Package {
  std::string name;
  std::string version;
  std::string architecture;
  std::string source;       // the source package, "" when it has the package's name
  std::string section;      // e.g. "vcs", "devel", "interpreters"
  std::string summary;      // the first line of the description
  std::string license;      // Debian's name for it (image/licenses), "" when unknown
  std::string license_spdx; // the same as an SPDX expression, "" when not expressible
  std::string sha256;       // of the .deb it came from, "" when unknown
};

// Installed packages ("install ok installed") from TREE/var/lib/dpkg/status, sorted by name.
Expected<std::vector<Package>> installed_packages(const std::filesystem::path& tree);

// With each package's license read from its copyright file in the tree.
Expected<std::vector<Package>> installed_packages_with_licenses(const std::filesystem::path& tree);

// The same, from the text of a status file.
std::vector<Package> parse_dpkg_status(const std::string& text);

// The package as manifest.json and the export cache hold it (empty fields left out).
nlohmann::json to_json(const Package& package);
Package package_from_json(const nlohmann::json& json);

// /etc/os-release of a tree: ID, VERSION_ID, PRETTY_NAME (empty when missing).
struct OsRelease {
  std::string id;
  std::string version_id;
  std::string pretty_name;
};
OsRelease read_os_release(const std::filesystem::path& tree);
nlohmann::json to_json(const OsRelease& os);
OsRelease os_release_from_json(const nlohmann::json& json);

} // namespace kiln::image
