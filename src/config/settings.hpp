// kiln's settings, loaded in one place, in layers, each value remembering where it came from.
//
//   1. built-in defaults
//   2. the system file      /etc/kiln/kiln.yaml (KILN_SYSTEM_CONFIG names another)
//   3. the user file        $XDG_CONFIG_HOME/kiln/kiln.yaml, else ~/.config/kiln/kiln.yaml
//   4. the repository file  ./kiln.yaml, or --config FILE
//   5. the environment      KILN_STORE, KILN_SIGNING_KEY, KILN_PUBLIC_KEY, KILN_CACHE_DIR,
//                           KILN_MAX_AGE, KILN_CACHE_FROM, KILN_CACHE_TO,
//                           KILN_CACHE_SECRET_KEY, KILN_CATALOG, KILN_PROGRESS,
//                           KILN_S3_ENDPOINT, KILN_TRANSFERS
//   6. the command's flags  --store, --key, --public-key, --cache-dir, --max-age, --endpoint,
//                           --profile, --cache-from, --cache-to, --cache-secret-key
//
// A later layer replaces a value of an earlier one (a list, such as channels, whole). Paths in
// a file are relative to that file's folder. The commands read Settings here and hand the lower
// layers plain structs (release::ReleaseConfig, a cache folder, a catalog file).
//
// The keys of a file:
//
//   store: /srv/kiln-store            # a folder, file:// URL, or s3://BUCKET/PREFIX
//   s3:                               # how to reach an S3 store (AWS by default)
//     endpoint: http://minio:9000     # an S3-compatible server
//     region: eu-west-1               # else as the AWS CLI finds it
//     profile: ci                     # of ~/.aws/config and credentials
//     addressing: path                # or virtual
//   transfers: 8                      # requests in flight to a remote store
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
//   cache:
//     dir: /var/cache/kiln            # the local layer cache
//     max_age: 7d
//     from: s3://ci-cache/kiln        # a shared layer cache: looked up after the local one
//     to: s3://ci-cache/kiln          # built layers are uploaded there (signed: signing.key)
//     secret_key: /etc/kiln/cache-secret.key  # root-only; shares layers of steps with secrets
//   catalog: /etc/kiln/catalog.yaml   # approved base images
//   ci: {images: [...], refs: [...]}  # the branch policy of `kiln ci` (config/policy.hpp)
#pragma once

#include "config/policy.hpp"
#include "release/config.hpp"
#include "store/open.hpp"
#include "util/error.hpp"

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace kiln::config {

enum class Layer { built_in, system, user, repository, environment, flag };

// "built-in", "system file", "user file", "repository file", "environment", "flag".
std::string layer_name(Layer layer);

struct Origin {
  Layer layer = Layer::built_in;
  std::string where; // the file, the variable or the flag; "" for built-in
};

struct Settings {
  release::ReleaseConfig release;  // store, signing keys, channels, retention
  store::RemoteOptions remote;     // s3: and transfers:
  std::filesystem::path cache_dir; // the layer cache
  std::string max_age = "7d";      // base, package and ansible layers older than this rebuild
  std::string cache_from;          // the shared layer cache's store, looked up after a miss
  std::string cache_to;            // the store built layers are uploaded to
  std::filesystem::path cache_secret_key; // the fleet's HMAC key for secrets in cache keys
  std::filesystem::path catalog;          // approved base images; "" for the built-in entries only
  bool progress = false;                  // progress lines on stderr even when it is not a terminal
  Policy policy = default_policy();       // ci: what `kiln ci` does per ref (config/policy.hpp)
  std::map<std::string, Origin> origins;  // by key: "store", "signing.key", "cache.dir", ...
  std::vector<std::filesystem::path> files; // the files read, in order
};

// A command line flag that sets a key ("store", "cache.dir", ...): empty values are not given.
struct Flag {
  std::string key;
  std::string value;
  std::string name; // "--store"
};

// What a command adds on top of the files and the environment.
struct Overrides {
  std::filesystem::path config_file; // --config: replaces ./kiln.yaml
  std::vector<Flag> flags;
};

// Every layer in order. A malformed file is a usage error naming its line.
Expected<Settings> load(const Overrides& overrides = {});

// The settings with their origins, for `kiln config show`.
nlohmann::json to_json(const Settings& settings);

} // namespace kiln::config
