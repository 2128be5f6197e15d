#include "cli/commands.hpp"
#include "util/strings.hpp"

#include <cstdio>
#include <memory>

namespace kiln::cli {

namespace {

// "dev, staging (tests passed), prod (tests passed, was in staging)".
std::string channels_text(const nlohmann::json& channels)
{
  std::string text;
  for (const auto& channel : channels) {
    std::vector<std::string> rules;
    if (channel["requires"].value("tests_passed", false))
      rules.emplace_back("tests passed");
    for (const auto& earlier : channel["requires"]["been_in"])
      rules.push_back("was in " + earlier.get<std::string>());
    text += (text.empty() ? "" : ", ") + channel["name"].get<std::string>();
    if (!rules.empty())
      text += " (" + util::join(rules, ", ") + ")";
  }
  return text;
}

struct ConfigOptions {
  std::string config;
  bool json = false;
};

int run_show(const ConfigOptions& options)
{
  auto settings = config::load({options.config, {}});
  if (!settings)
    return report(settings.error());
  auto shown = config::to_json(*settings);
  if (options.json) {
    std::printf("%s\n", shown.dump(2).c_str());
    return 0;
  }
  for (const auto& entry : shown["settings"]) {
    const auto& value = entry["value"];
    std::string text = value.is_string()  ? value.get<std::string>()
                       : value.is_array() ? channels_text(value)
                                          : value.dump();
    std::string origin = entry["origin"].get<std::string>();
    if (!entry["where"].get<std::string>().empty())
      origin += " " + entry["where"].get<std::string>();
    std::printf("%-28s %-40s (%s)\n", entry["key"].get<std::string>().c_str(),
                text.empty() ? "-" : text.c_str(), origin.c_str());
  }
  if (shown["files"].empty())
    std::printf("no settings file was read\n");
  for (const auto& file : shown["files"])
    std::printf("read %s\n", file.get<std::string>().c_str());
  return 0;
}

} // namespace

Command add_config(CLI::App& app)
{
  auto options = std::make_shared<ConfigOptions>();
  auto* sub = app.add_subcommand("config", "Show kiln's settings and where each one comes from");
  sub->require_subcommand(1);
  auto* show = sub->add_subcommand("show", "List every setting, its value and its origin");
  show->add_option("--config", options->config,
                   "The repository's settings file (default: ./kiln.yaml)");
  show->add_flag("--json", options->json, "Print the settings as JSON");
  sub->footer(R"(Settings come in layers, each replacing the one before it:
  built-in defaults
  the system file       /etc/kiln/kiln.yaml (KILN_SYSTEM_CONFIG names another)
  the user file         $XDG_CONFIG_HOME/kiln/kiln.yaml, else ~/.config/kiln/kiln.yaml
  the repository file   ./kiln.yaml, or --config FILE
  the environment       KILN_STORE, KILN_SIGNING_KEY, KILN_PUBLIC_KEY, KILN_CACHE_DIR,
                        KILN_MAX_AGE, KILN_CATALOG, KILN_PROGRESS
  the command's flags   --store, --key, --public-key, --cache-dir, --max-age

Keys of a file (paths are relative to the file's folder):
  store: /srv/kiln-store
  signing: {key: keys/release.key, public_key: keys/release.pub}
  channels: [{name: dev}, {name: staging, requires: {tests_passed: true}}]
  retention: {keep_newest: 5, keep_younger_than: 14d}
  cache: {dir: /var/cache/kiln, max_age: 7d}
  catalog: /etc/kiln/catalog.yaml

Examples:
  kiln config show
  kiln config show --config images/kiln.yaml --json)");
  return {sub, [options, show] { return show->parsed() ? run_show(*options) : 2; }};
}

} // namespace kiln::cli
