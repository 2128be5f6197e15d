#include "release/config.hpp"

#include "util/strings.hpp"
#include "util/yaml.hpp"

#include <cstdlib>
#include <set>
#include <yaml-cpp/yaml.h>

namespace kiln::release {

namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxConfigBytes = 1 << 20; // kiln.yaml: far more than any real one

// Errors carry the file and line of the node at fault.
struct ConfigReader {
  fs::path file;

  Error error(const YAML::Node& node, const std::string& message) const
  {
    return make_error(ExitCode::usage,
                      file.string() + ":" + std::to_string(node.Mark().line + 1) + ": " + message,
                      "see `kiln publish --help` for the keys of kiln.yaml");
  }

  Status only_keys(const YAML::Node& map, const std::set<std::string>& keys,
                   const std::string& where) const
  {
    if (!map.IsMap())
      return error(map, where + " must be a mapping");
    for (const auto& item : map) {
      std::string key = item.first.as<std::string>();
      if (!keys.count(key))
        return error(item.first, "unknown key '" + key + "' in " + where);
    }
    return ok_status();
  }

  fs::path path(const YAML::Node& node) const
  {
    fs::path value = node.as<std::string>();
    return value.is_absolute() ? value : file.parent_path() / value;
  }

  Expected<ChannelRule> channel(const YAML::Node& node) const
  {
    KILN_TRY(only_keys(node, {"name", "requires"}, "a channel"));
    if (!node["name"] || !node["name"].IsScalar())
      return error(node, "a channel needs a name");
    ChannelRule rule;
    rule.name = node["name"].as<std::string>();
    if (const auto& requires_ = node["requires"]) {
      KILN_TRY(only_keys(requires_, {"tests_passed", "been_in"}, "requires"));
      if (requires_["tests_passed"])
        rule.tests_passed = requires_["tests_passed"].as<bool>();
      if (const auto& been_in = requires_["been_in"]) {
        if (!been_in.IsSequence())
          return error(been_in, "been_in must be a list of channels");
        for (const auto& other : been_in)
          rule.been_in.push_back(other.as<std::string>());
      }
    }
    return rule;
  }

  Status channels(const YAML::Node& node, ReleaseConfig& config) const
  {
    if (!node.IsSequence() || node.size() == 0)
      return error(node, "channels must be a non-empty list");
    config.channels.clear();
    for (const auto& item : node) {
      auto rule = channel(item);
      if (!rule)
        return std::move(rule).error();
      if (config.channel(rule->name))
        return error(item, "channel '" + rule->name + "' is listed twice");
      for (const auto& earlier : rule->been_in) {
        if (!config.channel(earlier))
          return error(item, "channel '" + rule->name + "' requires '" + earlier +
                                 "', which is not listed before it");
      }
      config.channels.push_back(std::move(*rule));
    }
    return ok_status();
  }

  Status retention(const YAML::Node& node, Retention& retention) const
  {
    KILN_TRY(only_keys(node, {"keep_newest", "keep_younger_than"}, "retention"));
    if (node["keep_newest"]) {
      retention.keep_newest = node["keep_newest"].as<int>();
      if (retention.keep_newest < 0)
        return error(node["keep_newest"], "keep_newest must be 0 or more");
    }
    if (node["keep_younger_than"]) {
      auto seconds = util::parse_duration(node["keep_younger_than"].as<std::string>());
      if (!seconds)
        return error(node["keep_younger_than"], "keep_younger_than must be a duration like 14d");
      retention.keep_younger_than = *seconds;
    }
    return ok_status();
  }

  Status read(const YAML::Node& root, ReleaseConfig& config) const
  {
    KILN_TRY(only_keys(root, {"store", "signing", "channels", "retention"}, "kiln.yaml"));
    if (root["store"]) {
      config.store = root["store"].as<std::string>();
      if (config.store.find("://") == std::string::npos) // a folder, like the key paths
        config.store = path(root["store"]).string();
    }
    if (const auto& signing = root["signing"]) {
      KILN_TRY(only_keys(signing, {"key", "public_key"}, "signing"));
      if (signing["key"])
        config.signing_key = path(signing["key"]);
      if (signing["public_key"])
        config.public_key = path(signing["public_key"]);
    }
    if (root["channels"])
      KILN_TRY(channels(root["channels"], config));
    if (root["retention"])
      KILN_TRY(retention(root["retention"], config.retention));
    return ok_status();
  }
};

} // namespace

const ChannelRule* ReleaseConfig::channel(const std::string& name) const
{
  for (const auto& rule : channels) {
    if (rule.name == name)
      return &rule;
  }
  return nullptr;
}

ReleaseConfig default_release_config()
{
  ReleaseConfig config;
  config.channels = {{"dev", false, {}}, {"staging", true, {}}, {"prod", true, {"staging"}}};
  return config;
}

Expected<ReleaseConfig> load_release_config(const fs::path& file)
{
  ReleaseConfig config = default_release_config();
  fs::path chosen = file.empty() && fs::exists("kiln.yaml") ? fs::path("kiln.yaml") : file;
  if (!chosen.empty()) {
    ConfigReader reader{fs::absolute(chosen)};
    config.file = reader.file;
    auto root = util::load_yaml_file(reader.file, kMaxConfigBytes, ExitCode::usage);
    if (!root)
      return std::move(root).error();
    try {
      KILN_TRY(reader.read(*root, config));
    } catch (const YAML::Exception& e) {
      return make_error(ExitCode::usage,
                        chosen.string() + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
  }
  if (const char* store = std::getenv("KILN_STORE"); store && *store)
    config.store = store;
  if (const char* key = std::getenv("KILN_SIGNING_KEY"); key && *key)
    config.signing_key = key;
  if (const char* key = std::getenv("KILN_PUBLIC_KEY"); key && *key)
    config.public_key = key;
  return config;
}

Expected<std::string> store_location(const ReleaseConfig& config)
{
  if (config.store.empty())
    return make_error(ExitCode::usage, "no store given",
                      "pass --store DIR, set KILN_STORE, or write `store: DIR` in kiln.yaml");
  return config.store;
}

} // namespace kiln::release
