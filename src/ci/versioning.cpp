#include "ci/versioning.hpp"

#include "util/semver.hpp"

#include <cctype>
#include <vector>

namespace kiln::ci {

namespace {

constexpr size_t kMaxListed = 5; // packages named in a bump's reason

std::string listed(const std::vector<std::string>& names)
{
  std::string out;
  for (size_t i = 0; i < names.size() && i < kMaxListed; ++i)
    out += (i ? ", " : "") + names[i];
  if (names.size() > kMaxListed)
    out += " and " + std::to_string(names.size() - kMaxListed) + " more";
  return out;
}

} // namespace

std::string prerelease_identifier(const std::string& branch)
{
  std::string out;
  for (char c : branch) {
    bool keep = std::isalnum(static_cast<unsigned char>(c)) != 0;
    if (keep)
      out += c;
    else if (!out.empty() && out.back() != '-')
      out += '-';
  }
  while (!out.empty() && out.back() == '-')
    out.pop_back();
  if (!out.empty() && out.find_first_not_of("0123456789") == std::string::npos)
    out = "b" + out;
  return out;
}

std::string track_of(config::Publish publish, const std::string& branch)
{
  switch (publish) {
  case config::Publish::dev:
    return "dev";
  case config::Publish::rc:
    return "rc";
  case config::Publish::branch:
    return prerelease_identifier(branch);
  case config::Publish::none:
  case config::Publish::release:
    return "";
  }
  return "";
}

Expected<std::string> ci_version(config::Publish publish, const std::string& version, int commits,
                                 const std::string& short_commit, const std::string& branch)
{
  auto parsed = util::parse_version(version);
  if (!parsed || !parsed->prerelease.empty() || !parsed->build.empty())
    return make_error(ExitCode::invalid_definition,
                      "the definition's version '" + version + "' is not X.Y.Z",
                      "kiln ci adds the pre-release part itself: set version: to e.g. 1.4.0");
  if (publish == config::Publish::release || publish == config::Publish::none)
    return version;
  std::string track = track_of(publish, branch);
  if (track.empty())
    return make_error(ExitCode::usage,
                      "branch '" + branch + "' leaves nothing for a pre-release identifier",
                      "name the branch with letters or digits, or publish it as dev or rc");
  std::string text = version + "-" + track + "." + std::to_string(commits) + "+g" + short_commit;
  if (auto check = util::parse_version(text); !check)
    return make_error(ExitCode::usage,
                      "'" + text + "' is not a semantic version: " + check.error().message);
  return text;
}

std::optional<ReleaseTag> parse_release_tag(const std::string& tag)
{
  ReleaseTag out;
  std::string rest = tag;
  if (size_t slash = tag.rfind('/'); slash != std::string::npos) {
    out.image = tag.substr(0, slash);
    rest = tag.substr(slash + 1);
    if (out.image.empty())
      return std::nullopt;
  }
  if (rest.size() < 2 || rest[0] != 'v')
    return std::nullopt;
  auto parsed = util::parse_version(rest.substr(1));
  if (!parsed || !parsed->prerelease.empty() || !parsed->build.empty())
    return std::nullopt;
  out.version = rest.substr(1);
  return out;
}

Bump suggest_bump(const std::string& version, const std::map<std::string, std::string>& before,
                  const std::map<std::string, std::string>& after)
{
  std::vector<std::string> removed, added, updated;
  for (const auto& [name, old_version] : before) {
    auto found = after.find(name);
    if (found == after.end())
      removed.push_back(name);
    else if (found->second != old_version)
      updated.push_back(name + " " + old_version + " -> " + found->second);
  }
  for (const auto& [name, new_version] : after)
    if (!before.count(name))
      added.push_back(name);
  Bump bump;
  if (!removed.empty())
    bump = {"major", "packages removed: " + listed(removed), ""};
  else if (!added.empty())
    bump = {"minor", "packages added: " + listed(added), ""};
  else if (!updated.empty())
    bump = {"patch", "packages updated: " + listed(updated), ""};
  else
    bump = {"patch", "the packages are the same; files or settings changed", ""};
  if (auto parsed = util::parse_version(version)) {
    util::Version next{parsed->major, parsed->minor, parsed->patch, {}, {}};
    if (bump.kind == "major")
      next = {parsed->major + 1, 0, 0, {}, {}};
    else if (bump.kind == "minor")
      next = {parsed->major, parsed->minor + 1, 0, {}, {}};
    else
      next.patch += 1;
    bump.next = next.str();
  }
  return bump;
}

} // namespace kiln::ci
