// Debian package versions: comparison as dpkg does it (Debian Policy 5.6.12), and the version
// constraints of `package` tests.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kiln::image {

// <0, 0 or >0 as `a` is older than, the same as, or newer than `b`.
int compare_debian_versions(std::string_view a, std::string_view b);

// True when `version` satisfies `constraint` ("OP VERSION", OP one of >=, <=, =, >>, <<);
// nullopt when the constraint does not parse.
std::optional<bool> satisfies(std::string_view version, std::string_view constraint);

} // namespace kiln::image
