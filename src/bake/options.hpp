// What a bake is asked to do, beyond the definition: where, with which cache, and how fresh.
#pragma once

#include "store/open.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace kiln::bake {

inline constexpr int64_t kDefaultMaxAge = 7 * 86400;

// A layer cache shared through a store (bake/remote_cache.hpp): --cache-from, --cache-to.
struct SharedCacheOptions {
  std::string from;                  // a store location layers are looked up in; "" for none
  std::string to;                    // a store location built layers are uploaded to; "" none
  std::filesystem::path signing_key; // signs what `to` gets (signing.key)
  std::filesystem::path public_key;  // what a layer from `from` must be signed by
  // The key secrets are HMAC'd with for cache keys, shared by every machine of the fleet (a
  // root-only file, cache.secret_key); without it, steps with secrets and the layers above them
  // are neither looked up nor uploaded.
  std::filesystem::path secret_key;
};

struct BuildOptions {
  std::filesystem::path out_dir;
  std::filesystem::path cache_dir;
  std::optional<int64_t> source_date_epoch; // default: see base_epoch_of
  // Rebuild from this step on (a step name, "base", or "all"); nullopt: none.
  std::optional<std::string> refresh;
  int64_t max_age =
      kDefaultMaxAge; // seconds; base, package and ansible layers older than this are rebuilt
  // --on-error=abort: a failed bake keeps its tree for `kiln shell OUT` (bake/kept.hpp).
  bool keep_on_error = false;
  bool kvm = false;            // builder: vm boots its machine with KVM instead of TCG
  store::RemoteOptions remote; // how s3:// artifacts and the shared cache are reached
  SharedCacheOptions shared;
};

} // namespace kiln::bake
