// What kiln ls and kiln show report, as JSON (the CLI prints it as text or as is with --json).
#pragma once

#include "release/config.hpp"
#include "store/store.hpp"

#include <nlohmann/json.hpp>
#include <string>

namespace kiln::release {

// Every image: its number of versions, the newest, and its channels.
Expected<nlohmann::json> list_store(store::Store& store);

// One image's versions, newest first: published when and by whom, size, tests, channels, revoked.
Expected<nlohmann::json> list_image(store::Store& store, const std::string& name);

// A version (REF resolves as pull does, revoked versions included): its files, tests, signature,
// channels, revocation, parent image and the images built on it.
Expected<nlohmann::json> show_version(store::Store& store, const ReleaseConfig& config,
                                      const std::string& ref);

// An image's channels and its whole audit log.
Expected<nlohmann::json> show_image(store::Store& store, const std::string& name);

} // namespace kiln::release
