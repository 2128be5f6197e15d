// Semantic Versioning 2.0.0: parsing and precedence (https://semver.org).
#pragma once

#include "util/error.hpp"

#include <compare>
#include <cstdint>
#include <string>
#include <vector>

namespace kiln::util {

struct Version {
  uint64_t major = 0;
  uint64_t minor = 0;
  uint64_t patch = 0;
  std::vector<std::string> prerelease; // dot-separated identifiers
  std::vector<std::string> build;      // ignored for precedence

  std::string str() const;
};

// Parses a full version such as "1.4.0-rc.1+build.5". The error message says which part is wrong.
Expected<Version> parse_version(std::string_view text);

// Precedence per semver 2.0.0 section 11 (build metadata does not count).
std::strong_ordering compare(const Version& a, const Version& b);

inline bool operator<(const Version& a, const Version& b)
{
  return compare(a, b) < 0;
}

} // namespace kiln::util
