// Semantic Versioning 2.0.0: parsing and precedence (https://semver.org).
#pragma once

#include "util/error.hpp"

#include <compare>
#include <cstdint>
#include <optional>
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

// A reference to a set of versions:
//   exact     1.4.0, 1.4.0-rc.1        that version (build metadata ignored)
//   caret     ^1.2.3, ^1.2, ^0.2.3     compatible: the same leftmost non-zero number
//   tilde     ~1.2.3, ~1.2             the same MAJOR.MINOR (~1: the same MAJOR)
//   wildcard  1.x, 1.2.x, 1.*, 1, 1.2, *
// A pre-release version is in a range only when the range itself names a pre-release of the
// same MAJOR.MINOR.PATCH, as npm does: ^1.2 never picks 1.3.0-rc.1.
struct VersionRange {
  std::string text;
  Version low;                 // inclusive
  std::optional<Version> high; // exclusive; none: no upper bound
  bool exact = false;
};

Expected<VersionRange> parse_range(std::string_view text);
bool satisfies(const Version& version, const VersionRange& range);

// The highest of `versions` in `range`, if any.
std::optional<Version> best_match(const std::vector<Version>& versions, const VersionRange& range);

} // namespace kiln::util
