// The versions `kiln ci` publishes, from the definition's version, the policy's kind of publish,
// the commits since the version changed and the commit; and the semver bump a change suggests.
#pragma once

#include "config/policy.hpp"
#include "util/error.hpp"

#include <map>
#include <optional>
#include <string>

namespace kiln::ci {

// A branch name as one semver pre-release identifier: letters, digits and '-' only, every other
// character replaced by '-', runs of '-' and leading or trailing ones removed, and a name of
// digits only prefixed with "b" (numeric identifiers may not start with 0). "" when nothing is
// left.
std::string prerelease_identifier(const std::string& branch);

// X.Y.Z-dev.N+gSHA, X.Y.Z-rc.N+gSHA, X.Y.Z-BRANCH.N+gSHA or X.Y.Z. `version` must be X.Y.Z.
Expected<std::string> ci_version(config::Publish publish, const std::string& version, int commits,
                                 const std::string& short_commit, const std::string& branch = "");

// The pre-release identifier a version of this kind starts with ("dev", "rc", the branch's), or
// "" for a release.
std::string track_of(config::Publish publish, const std::string& branch);

struct ReleaseTag {
  std::string image;   // NAME of NAME/vX.Y.Z; "" for vX.Y.Z (every image)
  std::string version; // X.Y.Z
};

// vX.Y.Z or NAME/vX.Y.Z; nullopt for any other tag.
std::optional<ReleaseTag> parse_release_tag(const std::string& tag);

struct Bump {
  std::string kind;   // "major", "minor", "patch", or "" when the packages did not change
  std::string reason; // "packages removed: a, b"
  std::string next;   // the version it leads to
};

// What semver suggests from two package lists (name -> version): removed -> major, added ->
// minor, updated -> patch.
Bump suggest_bump(const std::string& version, const std::map<std::string, std::string>& before,
                  const std::map<std::string, std::string>& after);

} // namespace kiln::ci
