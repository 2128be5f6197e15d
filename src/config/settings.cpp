#include "config/settings.hpp"

#include "config/policy.hpp"
#include "util/strings.hpp"
#include "util/yaml.hpp"

#include <algorithm>
#include <cstdlib>
#include <set>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

namespace kiln::config {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr size_t kMaxConfigBytes = 1 << 20; // kiln.yaml: far more than any real one

// One file's keys applied to the settings; errors carry the file and line of the node at fault.
struct FileReader {
  fs::path file;
  Origin origin;
  Settings& settings;

  Error error(const YAML::Node& node, const std::string& message) const
  {
    return make_error(ExitCode::usage,
                      file.string() + ":" + std::to_string(node.Mark().line + 1) + ": " + message,
                      "kiln config show lists the settings; see the keys in `kiln config --help`");
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

  void set(const std::string& key) { settings.origins[key] = origin; }

  Expected<release::ChannelRule> channel(const YAML::Node& node) const
  {
    KILN_TRY(only_keys(node, {"name", "requires"}, "a channel"));
    if (!node["name"] || !node["name"].IsScalar())
      return error(node, "a channel needs a name");
    release::ChannelRule rule;
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

  Status channels(const YAML::Node& node)
  {
    if (!node.IsSequence() || node.size() == 0)
      return error(node, "channels must be a non-empty list");
    release::ReleaseConfig read;
    for (const auto& item : node) {
      auto rule = channel(item);
      if (!rule)
        return std::move(rule).error();
      if (read.channel(rule->name))
        return error(item, "channel '" + rule->name + "' is listed twice");
      for (const auto& earlier : rule->been_in) {
        if (!read.channel(earlier))
          return error(item, "channel '" + rule->name + "' requires '" + earlier +
                                 "', which is not listed before it");
      }
      read.channels.push_back(std::move(*rule));
    }
    settings.release.channels = std::move(read.channels);
    set("channels");
    return ok_status();
  }

  Status retention(const YAML::Node& node)
  {
    KILN_TRY(only_keys(node, {"keep_newest", "keep_younger_than"}, "retention"));
    auto& retention = settings.release.retention;
    if (node["keep_newest"]) {
      retention.keep_newest = node["keep_newest"].as<int>();
      if (retention.keep_newest < 0)
        return error(node["keep_newest"], "keep_newest must be 0 or more");
      set("retention.keep_newest");
    }
    if (node["keep_younger_than"]) {
      auto seconds = util::parse_duration(node["keep_younger_than"].as<std::string>());
      if (!seconds)
        return error(node["keep_younger_than"], "keep_younger_than must be a duration like 14d");
      retention.keep_younger_than = *seconds;
      set("retention.keep_younger_than");
    }
    return ok_status();
  }

  Status cache(const YAML::Node& node)
  {
    KILN_TRY(only_keys(node, {"dir", "max_age", "from", "to", "secret_key"}, "cache"));
    for (auto [key, field] :
         {std::pair{"from", &settings.cache_from}, std::pair{"to", &settings.cache_to}}) {
      if (node[key]) {
        *field = node[key].as<std::string>();
        if (field->find("://") == std::string::npos) // a folder, like the store
          *field = path(node[key]).string();
        set(std::string("cache.") + key);
      }
    }
    if (node["secret_key"]) {
      settings.cache_secret_key = path(node["secret_key"]);
      set("cache.secret_key");
    }
    if (node["dir"]) {
      settings.cache_dir = path(node["dir"]);
      set("cache.dir");
    }
    if (node["max_age"]) {
      settings.max_age = node["max_age"].as<std::string>();
      if (!util::parse_duration(settings.max_age))
        return error(node["max_age"], "max_age must be a duration like 7d");
      set("cache.max_age");
    }
    return ok_status();
  }

  Status s3(const YAML::Node& node)
  {
    KILN_TRY(only_keys(node, {"endpoint", "region", "profile", "addressing"}, "s3"));
    auto& remote = settings.remote;
    for (auto [key, field] :
         {std::pair{"endpoint", &remote.endpoint}, std::pair{"region", &remote.region},
          std::pair{"profile", &remote.profile}, std::pair{"addressing", &remote.addressing}}) {
      if (node[key]) {
        *field = node[key].as<std::string>();
        set(std::string("s3.") + key);
      }
    }
    if (!remote.addressing.empty() && remote.addressing != "path" && remote.addressing != "virtual")
      return error(node["addressing"], "addressing must be path or virtual");
    return ok_status();
  }

  Status read(const YAML::Node& root)
  {
    if (root.IsNull())
      return ok_status(); // an empty file
    KILN_TRY(only_keys(
        root,
        {"store", "signing", "channels", "retention", "cache", "catalog", "s3", "transfers", "ci"},
        "kiln.yaml"));
    if (root["store"]) {
      settings.release.store = root["store"].as<std::string>();
      if (settings.release.store.find("://") == std::string::npos) // a folder, like the keys
        settings.release.store = path(root["store"]).string();
      set("store");
    }
    if (const auto& signing = root["signing"]) {
      KILN_TRY(only_keys(signing, {"key", "public_key"}, "signing"));
      if (signing["key"]) {
        settings.release.signing_key = path(signing["key"]);
        set("signing.key");
      }
      if (signing["public_key"]) {
        settings.release.public_key = path(signing["public_key"]);
        set("signing.public_key");
      }
    }
    if (root["channels"])
      KILN_TRY(channels(root["channels"]));
    if (root["retention"])
      KILN_TRY(retention(root["retention"]));
    if (root["cache"])
      KILN_TRY(cache(root["cache"]));
    if (root["catalog"]) {
      settings.catalog = path(root["catalog"]);
      set("catalog");
    }
    if (root["s3"])
      KILN_TRY(s3(root["s3"]));
    if (root["ci"]) {
      auto policy = parse_policy(root["ci"], file);
      if (!policy)
        return std::move(policy).error();
      settings.policy = std::move(*policy);
      set("ci");
    }
    if (root["transfers"]) {
      settings.remote.transfers = root["transfers"].as<int>();
      if (settings.remote.transfers < 1 || settings.remote.transfers > 64)
        return error(root["transfers"], "transfers must be from 1 to 64");
      set("transfers");
    }
    return ok_status();
  }
};

Status read_file(const fs::path& file, Layer layer, Settings& settings)
{
  FileReader reader{fs::absolute(file), {layer, fs::absolute(file).string()}, settings};
  auto root = util::load_yaml_file(reader.file, kMaxConfigBytes, ExitCode::usage);
  if (!root)
    return std::move(root).error();
  try {
    KILN_TRY(reader.read(*root));
  } catch (const YAML::Exception& e) {
    return make_error(ExitCode::usage,
                      reader.file.string() + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  settings.files.push_back(reader.file);
  return ok_status();
}

std::string env(const char* name)
{
  const char* value = std::getenv(name);
  return value ? value : "";
}

fs::path default_cache_dir()
{
  if (::geteuid() == 0)
    return "/var/cache/kiln";
  std::string home = env("HOME");
  return fs::path(home.empty() ? "/tmp" : home) / ".cache/kiln";
}

fs::path user_file()
{
  if (std::string xdg = env("XDG_CONFIG_HOME"); !xdg.empty())
    return fs::path(xdg) / "kiln/kiln.yaml";
  std::string home = env("HOME");
  return home.empty() ? fs::path() : fs::path(home) / ".config/kiln/kiln.yaml";
}

// Sets KEY from a value given outside any file (a variable or a flag).
Status apply(Settings& settings, const std::string& key, const std::string& value,
             const Origin& origin)
{
  auto& release = settings.release;
  if (key == "store")
    release.store = value;
  else if (key == "signing.key")
    release.signing_key = value;
  else if (key == "signing.public_key")
    release.public_key = value;
  else if (key == "cache.dir")
    settings.cache_dir = value;
  else if (key == "cache.from")
    settings.cache_from = value;
  else if (key == "cache.to")
    settings.cache_to = value;
  else if (key == "cache.secret_key")
    settings.cache_secret_key = value;
  else if (key == "cache.max_age") {
    if (!util::parse_duration(value))
      return make_error(ExitCode::usage, origin.where + " '" + value + "' is not a duration",
                        "give a number and a unit, e.g. 7d, 12h or 30m");
    settings.max_age = value;
  } else if (key == "catalog")
    settings.catalog = value;
  else if (key == "progress")
    settings.progress = value != "0";
  else if (key == "s3.endpoint")
    settings.remote.endpoint = value;
  else if (key == "s3.profile")
    settings.remote.profile = value;
  else if (key == "transfers") {
    int transfers = std::atoi(value.c_str());
    if (transfers < 1 || transfers > 64)
      return make_error(ExitCode::usage, origin.where + " '" + value + "' is not from 1 to 64");
    settings.remote.transfers = transfers;
  } else
    return make_error(ExitCode::usage, "unknown setting '" + key + "'");
  settings.origins[key] = origin;
  return ok_status();
}

// The variables, by the key they set.
const std::vector<std::pair<const char*, const char*>>& variables()
{
  static const std::vector<std::pair<const char*, const char*>> table = {
      {"KILN_STORE", "store"},
      {"KILN_SIGNING_KEY", "signing.key"},
      {"KILN_PUBLIC_KEY", "signing.public_key"},
      {"KILN_CACHE_DIR", "cache.dir"},
      {"KILN_MAX_AGE", "cache.max_age"},
      {"KILN_CACHE_FROM", "cache.from"},
      {"KILN_CACHE_TO", "cache.to"},
      {"KILN_CACHE_SECRET_KEY", "cache.secret_key"},
      {"KILN_CATALOG", "catalog"},
      {"KILN_PROGRESS", "progress"},
      {"KILN_S3_ENDPOINT", "s3.endpoint"},
      {"KILN_TRANSFERS", "transfers"}};
  return table;
}

// 1209600 -> "14d", as a file would say it.
std::string duration_text(int64_t seconds)
{
  if (seconds > 0 && seconds % 86400 == 0)
    return std::to_string(seconds / 86400) + "d";
  if (seconds > 0 && seconds % 3600 == 0)
    return std::to_string(seconds / 3600) + "h";
  return std::to_string(seconds) + "s";
}

} // namespace

std::string layer_name(Layer layer)
{
  switch (layer) {
  case Layer::built_in:
    return "built-in";
  case Layer::system:
    return "system file";
  case Layer::user:
    return "user file";
  case Layer::repository:
    return "repository file";
  case Layer::environment:
    return "environment";
  case Layer::flag:
    return "flag";
  }
  return "";
}

Expected<Settings> load(const Overrides& overrides)
{
  Settings settings;
  settings.release = release::default_release_config();
  settings.cache_dir = default_cache_dir();
  if (fs::exists("/etc/kiln/catalog.yaml"))
    settings.catalog = "/etc/kiln/catalog.yaml";
  std::string system = env("KILN_SYSTEM_CONFIG");
  fs::path system_file = system.empty() ? fs::path("/etc/kiln/kiln.yaml") : fs::path(system);
  if (fs::exists(system_file))
    KILN_TRY(read_file(system_file, Layer::system, settings));
  if (fs::path user = user_file(); !user.empty() && fs::exists(user))
    KILN_TRY(read_file(user, Layer::user, settings));
  fs::path repository = overrides.config_file;
  if (repository.empty() && fs::exists("kiln.yaml"))
    repository = "kiln.yaml";
  if (!repository.empty())
    KILN_TRY(read_file(repository, Layer::repository, settings));
  for (const auto& [variable, key] : variables()) {
    if (std::string value = env(variable); !value.empty())
      KILN_TRY(apply(settings, key, value, {Layer::environment, variable}));
  }
  for (const auto& flag : overrides.flags) {
    if (!flag.value.empty())
      KILN_TRY(apply(settings, flag.key, flag.value, {Layer::flag, flag.name}));
  }
  std::vector<std::string> channels;
  for (const auto& rule : settings.release.channels)
    channels.push_back(rule.name);
  if (!settings.origins.count("ci")) { // the default policy moves only channels that exist
    for (auto& rule : settings.policy.rules)
      if (std::find(channels.begin(), channels.end(), rule.channel) == channels.end())
        rule.channel.clear();
  }
  if (auto problems = unknown_channels(settings.policy, channels); !problems.empty()) {
    Error error = make_error(ExitCode::usage, problems.front(),
                             "name a channel of kiln.yaml's channels:, or add it there");
    for (size_t i = 1; i < problems.size(); ++i)
      error.detail += (error.detail.empty() ? "" : "\n") + problems[i];
    return error;
  }
  return settings;
}

json to_json(const Settings& settings)
{
  const auto& release = settings.release;
  json channels = json::array();
  for (const auto& rule : release.channels)
    channels.push_back(
        {{"name", rule.name},
         {"requires", {{"tests_passed", rule.tests_passed}, {"been_in", rule.been_in}}}});
  const std::vector<std::pair<std::string, json>> values = {
      {"store", release.store},
      {"signing.key", release.signing_key.string()},
      {"signing.public_key", release.public_key.string()},
      {"channels", channels},
      {"retention.keep_newest", release.retention.keep_newest},
      {"retention.keep_younger_than", duration_text(release.retention.keep_younger_than)},
      {"cache.dir", settings.cache_dir.string()},
      {"cache.max_age", settings.max_age},
      {"cache.from", settings.cache_from},
      {"cache.to", settings.cache_to},
      {"cache.secret_key", settings.cache_secret_key.string()},
      {"catalog", settings.catalog.string()},
      {"progress", settings.progress},
      {"s3.endpoint", settings.remote.endpoint},
      {"s3.region", settings.remote.region},
      {"s3.profile", settings.remote.profile},
      {"s3.addressing", settings.remote.addressing},
      {"transfers", settings.remote.transfers},
  };
  json out = json::array();
  for (const auto& [key, value] : values) {
    auto origin = settings.origins.find(key);
    Origin from = origin == settings.origins.end() ? Origin{} : origin->second;
    out.push_back({{"key", key},
                   {"value", value},
                   {"origin", layer_name(from.layer)},
                   {"where", from.where}});
  }
  json files = json::array();
  for (const auto& file : settings.files)
    files.push_back(file.string());
  return {{"settings", out}, {"files", files}};
}

} // namespace kiln::config
