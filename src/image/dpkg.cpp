#include "image/dpkg.hpp"

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

} // namespace kiln::image
