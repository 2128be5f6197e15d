// The cache folder's layout, named once:
//
//   CACHE/VERSION        the format of what is below (layer_cache.hpp checks it)
//   CACHE/layers/KEY/    a layer: tree/ and meta.json
//   CACHE/exports/KEY/   an export: the outputs and result.json
//   CACHE/locks/         a lock file per layer or export a build uses
//   CACHE/artifacts/     downloads, by sha256
//   CACHE/images/        published images a base names (kiln:NAME@CHANNEL), pulled and verified,
//                        as NAME@VERSION-BODY/ (release::fetch_image)
//   CACHE/debs/          the verified .deb cache, with its .lock
//   CACHE/answers/       tree_memo: test results and tool versions by the tree they ran on
//   CACHE/digests.json   digest_memo: file digests by stat data
//   CACHE/secret.key     the key secrets are HMAC'd with for cache keys (mode 0600)
//   CACHE/tmp/           scratch folders, each named after the process that made it
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <unistd.h>

namespace kiln::bake::cache {

inline constexpr std::string_view kVersionFile = "VERSION";
inline constexpr std::string_view kLayers = "layers";
inline constexpr std::string_view kExports = "exports";
inline constexpr std::string_view kLocks = "locks";
inline constexpr std::string_view kArtifacts = "artifacts";
inline constexpr std::string_view kImages = "images";
inline constexpr std::string_view kDebs = "debs";
inline constexpr std::string_view kAnswers = "answers";
inline constexpr std::string_view kDigests = "digests.json";
inline constexpr std::string_view kSecretKey = "secret.key";
inline constexpr std::string_view kTmp = "tmp";

// CACHE/NAME, for a name above.
inline std::filesystem::path at(const std::filesystem::path& cache_dir, std::string_view name)
{
  return cache_dir / std::string(name);
}

// A scratch folder of this process: CACHE/tmp/WHAT-PID (a later build removes those whose
// process is gone).
inline std::filesystem::path scratch(const std::filesystem::path& cache_dir,
                                     const std::string& what)
{
  return at(cache_dir, kTmp) / (what + "-" + std::to_string(::getpid()));
}

} // namespace kiln::bake::cache
