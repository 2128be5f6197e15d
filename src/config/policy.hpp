// The branch policy of an images repository: which definitions it holds, and what `kiln ci` does
// for each ref. It is the `ci:` key of the repository's kiln.yaml:
//
//   ci:
//     images: [images/*/image.yaml]   # definitions, or folders holding image.yaml; globs
//     refs:                           # the first rule that matches the ref wins
//       - branch: main                # a glob on the branch name ('*' also matches '/')
//         publish: dev                # none | dev | rc | release | branch
//         channel: dev                # moved through the channel's promotion rules
//       - branch: release/*
//         publish: rc
//         channel: staging
//       - tag: v*                     # vX.Y.Z, or NAME/vX.Y.Z for one image
//         publish: release
//
// Versions: dev X.Y.Z-dev.N+gSHA, rc X.Y.Z-rc.N+gSHA, branch X.Y.Z-BRANCH.N+gSHA, release X.Y.Z
// (from the tag, equal to the definition's version). N counts the commits since the
// definition's version last changed. A pull request is built and tested, never published, and
// a ref no rule matches likewise.
#pragma once

#include "util/error.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>
#include <yaml-cpp/yaml.h>

namespace kiln::config {

enum class Publish { none, dev, rc, release, branch };

std::string publish_name(Publish publish);

struct RefRule {
  enum class Kind { branch, tag };
  Kind kind = Kind::branch;
  std::string pattern;
  Publish publish = Publish::none;
  std::string channel; // empty: no channel moves
  std::string where;   // FILE:LINE:COL of the rule; "built-in" for the defaults
  std::string channel_where;
};

struct Policy {
  std::vector<std::string> images; // globs relative to the repository's root
  std::vector<RefRule> rules;
  std::string where = "built-in"; // the file it came from
};

// The policy of a repository whose kiln.yaml has no `ci:` key.
Policy default_policy();

// The `ci:` node of FILE. Every problem at once, each as FILE:LINE:COL: MESSAGE (usage error).
Expected<Policy> parse_policy(const YAML::Node& node, const std::filesystem::path& file);

// Problems with the channels the rules name, given the configured channels, as above.
std::vector<std::string> unknown_channels(const Policy& policy,
                                          const std::vector<std::string>& channels);

// The first rule for a branch or a tag, or nullptr.
const RefRule* match_rule(const Policy& policy, RefRule::Kind kind, const std::string& name);

nlohmann::json to_json(const Policy& policy);

} // namespace kiln::config
