// Where versions are published and how they move: the store's location, the signing keys, the
// channels with their promotion rules, and what gc keeps. config::load fills it from kiln.yaml,
// the environment and the flags (src/config/settings.hpp).
#pragma once

#include "util/error.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace kiln::release {

struct ChannelRule {
  std::string name;
  bool tests_passed = false;        // only a version whose recorded tests all passed
  std::vector<std::string> been_in; // only a version that was in each of these channels before
};

struct Retention {
  int keep_newest = 5;                        // per image
  int64_t keep_younger_than = 14 * 24 * 3600; // seconds since publishing
};

struct ReleaseConfig {
  std::string store;
  std::filesystem::path signing_key; // empty: publish unsigned
  std::filesystem::path public_key;  // empty: signatures are not checked
  std::vector<ChannelRule> channels;
  Retention retention;

  const ChannelRule* channel(const std::string& name) const;
};

// The defaults: dev, staging (tests passed), prod (tests passed, was in staging).
ReleaseConfig default_release_config();

// The store from the configuration, or a usage error saying how to give one.
Expected<std::string> store_location(const ReleaseConfig& config);

} // namespace kiln::release
