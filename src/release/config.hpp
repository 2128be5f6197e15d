// Where versions are published and how they move: the store's location, the signing keys, the
// channels with their promotion rules, and what gc keeps. It comes from kiln.yaml (in the current
// folder, or --config), then KILN_STORE / KILN_SIGNING_KEY / KILN_PUBLIC_KEY, then the flags.
//
//   store: /srv/kiln-store            # a folder or file:// URL
//   signing:
//     key: keys/release.key           # signs what publish writes
//     public_key: keys/release.pub    # checks what pull and verify read
//   channels:                         # in promotion order
//     - name: dev
//     - name: staging
//       requires: {tests_passed: true}
//     - name: prod
//       requires: {tests_passed: true, been_in: [staging]}
//   retention: {keep_newest: 5, keep_younger_than: 14d}
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
  std::filesystem::path file; // the kiln.yaml read, if any

  const ChannelRule* channel(const std::string& name) const;
};

// The defaults: dev, staging (tests passed), prod (tests passed, was in staging).
ReleaseConfig default_release_config();

// Reads `file` (when empty: kiln.yaml in the current folder, if there is one), then the
// environment. Paths in the file (the store folder, the keys) are relative to its folder. A
// malformed file is a usage error naming the line.
Expected<ReleaseConfig> load_release_config(const std::filesystem::path& file = {});

// The store from the configuration, or a usage error saying how to give one.
Expected<std::string> store_location(const ReleaseConfig& config);

} // namespace kiln::release
