// The license of an installed Debian package, from its machine-readable copyright file
// (/usr/share/doc/PACKAGE/copyright, DEP-5): the License of the "Files: *" paragraph, as Debian
// names it and, where every part has one, as an SPDX expression.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace kiln::image {

struct License {
  std::string debian; // "GPL-2+ or Artistic"
  std::string spdx;   // "GPL-2.0-or-later OR Artistic-1.0-Perl"; "" when a part has no SPDX id
};

// From the text of a copyright file; nullopt when it is not machine-readable or names no
// license for "Files: *".
std::optional<License> license_from_copyright(const std::string& text);

// The same for PACKAGE installed in TREE.
std::optional<License> package_license(const std::filesystem::path& tree,
                                       const std::string& package);

// "GPL-2+ and BSD-3-clause" -> "GPL-2.0-or-later AND BSD-3-Clause"; "" when a name is unknown.
std::string spdx_expression(const std::string& debian);

} // namespace kiln::image
