#include "release/config.hpp"

namespace kiln::release {

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

Expected<std::string> store_location(const ReleaseConfig& config)
{
  if (config.store.empty())
    return make_error(ExitCode::usage, "no store given",
                      "pass --store DIR, set KILN_STORE, or write `store: DIR` in kiln.yaml");
  return config.store;
}

} // namespace kiln::release
