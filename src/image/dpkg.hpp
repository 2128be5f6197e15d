// Reading the dpkg database of a tree.
#pragma once

#include "util/error.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace kiln::image {

struct Package {
  std::string name;
  std::string version;
  std::string architecture;
};

// Installed packages ("install ok installed") from TREE/var/lib/dpkg/status, sorted by name.
Expected<std::vector<Package>> installed_packages(const std::filesystem::path& tree);

// The same, from the text of a status file.
std::vector<Package> parse_dpkg_status(const std::string& text);

} // namespace kiln::image
