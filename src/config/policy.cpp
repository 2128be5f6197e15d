#include "config/policy.hpp"

#include <algorithm>
#include <cctype>
#include <fnmatch.h>

namespace kiln::config {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr size_t kMaxRules = 64;
constexpr size_t kMaxImageGlobs = 64;

struct PolicyReader {
  std::string file;
  std::vector<std::string> problems;

  std::string at(const YAML::Node& node) const
  {
    return file + ":" + std::to_string(node.Mark().line + 1) + ":" +
           std::to_string(node.Mark().column + 1);
  }

  void problem(const YAML::Node& node, const std::string& message)
  {
    problems.push_back(at(node) + ": " + message);
  }

  bool scalar(const YAML::Node& node, const std::string& what)
  {
    if (node.IsScalar() && !node.Scalar().empty())
      return true;
    problem(node, what + " must be a non-empty text");
    return false;
  }

  void images(const YAML::Node& node, Policy& policy)
  {
    if (!node.IsSequence() || node.size() == 0 || node.size() > kMaxImageGlobs) {
      problem(node, "ci.images must be a list of 1 to " + std::to_string(kMaxImageGlobs) +
                        " globs of definitions or folders");
      return;
    }
    for (const auto& item : node) {
      if (!scalar(item, "an image glob"))
        continue;
      std::string glob = item.Scalar();
      if (glob.front() == '/' || glob.find("..") != std::string::npos)
        problem(item, "image glob '" + glob +
                          "' must be relative to the repository's root and stay inside it");
      else
        policy.images.push_back(glob);
    }
  }

  Publish publish(const YAML::Node& node)
  {
    static const std::vector<std::pair<std::string, Publish>> names = {
        {"none", Publish::none},
        {"dev", Publish::dev},
        {"rc", Publish::rc},
        {"release", Publish::release},
        {"branch", Publish::branch}};
    if (node.IsScalar())
      for (const auto& [name, value] : names)
        if (node.Scalar() == name)
          return value;
    problem(node, "publish must be none, dev, rc, release or branch");
    return Publish::none;
  }

  void rule(const YAML::Node& node, Policy& policy)
  {
    if (!node.IsMap()) {
      problem(node, "a ref rule must be a mapping such as {branch: main, publish: dev}");
      return;
    }
    for (const auto& item : node) {
      std::string key = item.first.as<std::string>();
      if (key != "branch" && key != "tag" && key != "publish" && key != "channel")
        problem(item.first,
                "unknown key '" + key + "' in a ref rule (branch, tag, publish, channel)");
    }
    RefRule rule;
    rule.where = at(node);
    if (node["branch"].IsDefined() == node["tag"].IsDefined()) {
      problem(node, "a ref rule needs exactly one of branch: and tag:");
      return;
    }
    rule.kind = node["branch"] ? RefRule::Kind::branch : RefRule::Kind::tag;
    const YAML::Node pattern = node["branch"] ? node["branch"] : node["tag"];
    if (!scalar(pattern, "a ref pattern"))
      return;
    rule.pattern = pattern.Scalar();
    if (std::string why = pattern_problem(rule.pattern); !why.empty())
      problem(pattern, "invalid ref pattern '" + rule.pattern + "': " + why);
    if (node["publish"])
      rule.publish = publish(node["publish"]);
    bool tag = rule.kind == RefRule::Kind::tag;
    if (tag && rule.publish != Publish::release && rule.publish != Publish::none)
      problem(node["publish"], "a tag publishes its own version: publish must be release or none");
    if (!tag && rule.publish == Publish::release)
      problem(node["publish"], "publish: release is for tags (vX.Y.Z); a branch publishes dev, rc "
                               "or branch versions");
    if (node["channel"] && scalar(node["channel"], "channel")) {
      rule.channel = node["channel"].Scalar();
      rule.channel_where = at(node["channel"]);
      if (rule.publish == Publish::none)
        problem(node["channel"], "a channel moves only to a published version: set publish:");
    }
    policy.rules.push_back(rule);
  }

  // Git's ref name rules, with '*' as the only wildcard, on a short name (main, release/*).
  static std::string pattern_problem(const std::string& pattern)
  {
    if (pattern.rfind("refs/", 0) == 0)
      return "write the short name (main, release/*), without refs/heads/ or refs/tags/";
    if (pattern.front() == '/' || pattern.back() == '/' || pattern.back() == '.')
      return "it may not start or end with '/' or end with '.'";
    if (pattern.find("..") != std::string::npos || pattern.find("//") != std::string::npos ||
        pattern.find("@{") != std::string::npos)
      return "it may not hold '..', '//' or '@{'";
    for (char c : pattern)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ||
            c == '/' || c == '*' || c == '+'))
        return std::string("character '") + c +
               "' is not allowed (letters, digits, '.', '_', '-', '+', '/' and the wildcard '*')";
    return "";
  }
};

bool matches(const std::string& pattern, const std::string& name)
{
  return ::fnmatch(pattern.c_str(), name.c_str(), 0) == 0; // '*' also matches '/'
}

} // namespace

std::string publish_name(Publish publish)
{
  switch (publish) {
  case Publish::none:
    return "none";
  case Publish::dev:
    return "dev";
  case Publish::rc:
    return "rc";
  case Publish::release:
    return "release";
  case Publish::branch:
    return "branch";
  }
  return "none";
}

Policy default_policy()
{
  Policy policy;
  policy.images = {"image.yaml", "*/image.yaml", "images/*/image.yaml"};
  policy.rules = {
      {RefRule::Kind::branch, "main", Publish::dev, "dev", "built-in", "built-in"},
      {RefRule::Kind::branch, "release/*", Publish::rc, "staging", "built-in", "built-in"},
      {RefRule::Kind::tag, "v*", Publish::release, "", "built-in", ""},
      {RefRule::Kind::tag, "*/v*", Publish::release, "", "built-in", ""},
  };
  return policy;
}

Expected<Policy> parse_policy(const YAML::Node& node, const fs::path& file)
{
  PolicyReader reader{file.string(), {}};
  Policy policy = default_policy();
  policy.where = file.string();
  if (!node.IsMap()) {
    reader.problem(node, "ci must be a mapping with images: and refs:");
  } else {
    for (const auto& item : node) {
      std::string key = item.first.as<std::string>();
      if (key != "images" && key != "refs")
        reader.problem(item.first, "unknown key '" + key + "' in ci (images, refs)");
    }
    if (node["images"]) {
      policy.images.clear();
      reader.images(node["images"], policy);
    }
    if (const YAML::Node refs = node["refs"]) {
      policy.rules.clear();
      if (!refs.IsSequence() || refs.size() > kMaxRules)
        reader.problem(refs,
                       "ci.refs must be a list of at most " + std::to_string(kMaxRules) + " rules");
      else
        for (const auto& rule : refs)
          reader.rule(rule, policy);
    }
  }
  if (reader.problems.empty())
    return policy;
  std::string message = reader.problems.front();
  Error error = make_error(ExitCode::usage, message,
                           "`kiln ci --show-policy` prints the policy in force, and the "
                           "default one when kiln.yaml has no ci: key");
  for (size_t i = 1; i < reader.problems.size(); ++i)
    error.detail += (error.detail.empty() ? "" : "\n") + reader.problems[i];
  return error;
}

std::vector<std::string> unknown_channels(const Policy& policy,
                                          const std::vector<std::string>& channels)
{
  std::vector<std::string> problems;
  for (const auto& rule : policy.rules) {
    if (rule.channel.empty() ||
        std::find(channels.begin(), channels.end(), rule.channel) != channels.end())
      continue;
    std::string known;
    for (const auto& name : channels)
      known += (known.empty() ? "" : ", ") + name;
    problems.push_back(rule.channel_where + ": unknown channel '" + rule.channel +
                       "' (kiln.yaml's channels: " + known + ")");
  }
  return problems;
}

const RefRule* match_rule(const Policy& policy, RefRule::Kind kind, const std::string& name)
{
  for (const auto& rule : policy.rules)
    if (rule.kind == kind && matches(rule.pattern, name))
      return &rule;
  return nullptr;
}

nlohmann::json to_json(const Policy& policy)
{
  json rules = json::array();
  for (const auto& rule : policy.rules)
    rules.push_back({{rule.kind == RefRule::Kind::branch ? "branch" : "tag", rule.pattern},
                     {"publish", publish_name(rule.publish)},
                     {"channel", rule.channel.empty() ? json(nullptr) : json(rule.channel)},
                     {"from", rule.where}});
  return {{"from", policy.where},
          {"images", policy.images},
          {"refs", rules},
          {"pull_requests", "validate, build and test; never publish"},
          {"other_refs", "validate, build and test; never publish"}};
}

} // namespace kiln::config
