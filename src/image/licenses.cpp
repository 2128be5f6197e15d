#include "image/licenses.hpp"

#include "util/fs.hpp"
#include "util/strings.hpp"

#include <map>
#include <sstream>
#include <vector>

namespace kiln::image {

namespace fs = std::filesystem;

namespace {

// Debian's short license names (lower case) and their SPDX identifiers.
const std::map<std::string, std::string>& spdx_ids()
{
  static const std::map<std::string, std::string> ids = {
      {"gpl-1", "GPL-1.0-only"},
      {"gpl-1+", "GPL-1.0-or-later"},
      {"gpl-2", "GPL-2.0-only"},
      {"gpl-2+", "GPL-2.0-or-later"},
      {"gpl-2.0", "GPL-2.0-only"},
      {"gpl-2.0+", "GPL-2.0-or-later"},
      {"gpl-3", "GPL-3.0-only"},
      {"gpl-3+", "GPL-3.0-or-later"},
      {"gpl-3.0", "GPL-3.0-only"},
      {"gpl-3.0+", "GPL-3.0-or-later"},
      {"lgpl-2", "LGPL-2.0-only"},
      {"lgpl-2+", "LGPL-2.0-or-later"},
      {"lgpl-2.1", "LGPL-2.1-only"},
      {"lgpl-2.1+", "LGPL-2.1-or-later"},
      {"lgpl-3", "LGPL-3.0-only"},
      {"lgpl-3+", "LGPL-3.0-or-later"},
      {"agpl-3", "AGPL-3.0-only"},
      {"agpl-3+", "AGPL-3.0-or-later"},
      {"apache-2.0", "Apache-2.0"},
      {"artistic", "Artistic-1.0-Perl"},
      {"artistic-2.0", "Artistic-2.0"},
      {"bsd-2-clause", "BSD-2-Clause"},
      {"bsd-3-clause", "BSD-3-Clause"},
      {"bsd-4-clause", "BSD-4-Clause"},
      {"expat", "MIT"},
      {"mit", "MIT"},
      {"isc", "ISC"},
      {"zlib", "Zlib"},
      {"mpl-1.1", "MPL-1.1"},
      {"mpl-2.0", "MPL-2.0"},
      {"curl", "curl"},
      {"openssl", "OpenSSL"},
      {"psf-2", "PSF-2.0"},
      {"python", "Python-2.0"},
      {"cc0", "CC0-1.0"},
      {"cc0-1.0", "CC0-1.0"},
      {"bsl-1.0", "BSL-1.0"},
      {"x11", "X11"},
      {"gfdl-1.3", "GFDL-1.3-only"},
      {"gfdl-1.3+", "GFDL-1.3-or-later"},
      {"unicode-dfs-2016", "Unicode-DFS-2016"},
  };
  return ids;
}

std::string lower(std::string text)
{
  for (char& c : text)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// The paragraphs of a DEP-5 file as field -> first-line value.
std::vector<std::map<std::string, std::string>> paragraphs(const std::string& text)
{
  std::vector<std::map<std::string, std::string>> result(1);
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (util::trim(line).empty()) {
      if (!result.back().empty())
        result.emplace_back();
      continue;
    }
    if (line[0] == ' ' || line[0] == '\t')
      continue;
    size_t colon = line.find(':');
    if (colon == std::string::npos)
      continue;
    result.back().emplace(lower(line.substr(0, colon)),
                          std::string(util::trim(line.substr(colon + 1))));
  }
  return result;
}

} // namespace

std::string spdx_expression(const std::string& debian)
{
  std::istringstream words(debian);
  std::string word, expression;
  while (words >> word) {
    std::string key = lower(word);
    std::string part;
    if (key == "or" || key == "and") {
      part = key == "or" ? "OR" : "AND";
    } else {
      auto id = spdx_ids().find(key);
      if (id == spdx_ids().end())
        return "";
      part = id->second;
    }
    expression += (expression.empty() ? "" : " ") + part;
  }
  return expression;
}

std::optional<License> license_from_copyright(const std::string& text)
{
  if (text.rfind("Format:", 0) != 0 && text.find("\nFormat:") == std::string::npos)
    return std::nullopt;
  for (const auto& paragraph : paragraphs(text)) {
    auto files = paragraph.find("files");
    auto license = paragraph.find("license");
    if (files == paragraph.end() || license == paragraph.end() || license->second.empty())
      continue;
    std::istringstream patterns(files->second);
    std::string first;
    patterns >> first;
    if (first == "*")
      return License{license->second, spdx_expression(license->second)};
  }
  return std::nullopt;
}

std::optional<License> package_license(const fs::path& tree, const std::string& package)
{
  // A package's doc folder may be a link to another package's, resolved inside the tree.
  fs::path doc = tree / "usr/share/doc" / package;
  std::error_code ec;
  if (fs::is_symlink(doc, ec)) {
    fs::path target = fs::read_symlink(doc, ec);
    doc = target.is_absolute() ? tree / target.relative_path() : doc.parent_path() / target;
  }
  auto text = util::read_file(doc / "copyright");
  if (!text)
    return std::nullopt;
  return license_from_copyright(*text);
}

} // namespace kiln::image
