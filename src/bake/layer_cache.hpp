// The local layer cache: the base tree and each step's changes, stored once under their cache key.
//
//   CACHE/VERSION                 "kiln-cache 1": refuses a cache of another format
//   CACHE/layers/KEY/tree/        the layer (the base tree, or a step's overlayfs upper folder)
//   CACHE/layers/KEY/meta.json    what the key was made of, digest, size, times
//   CACHE/layers/.tmp-KEY-PID/    a layer being built; renamed into place when complete, so a
//                                 crash never leaves a half-written layer under a key
//   CACHE/exports/KEY/            the finished outputs and their facts, keyed by the last layer
//   CACHE/locks/KEY.lock          shared while a build uses KEY, exclusive while it is pruned
//
// A layer is checked against its digest before use: a truncated or altered entry is reported,
// removed and built again.
#pragma once

#include "bake/cache_layout.hpp"
#include "util/digest_memo.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace kiln::bake {

inline constexpr int kCacheFormat = 1;
// How layer_digest measures a tree; a layer measured another way is built again.
inline constexpr int kDigestFormat = 2;

struct LayerMeta {
  std::string key;
  std::string digest; // of the layer's tree: paths, types, modes, owners, sizes, times, links
  std::string image;  // the image and step that built it (for --explain and `cache ls`)
  std::string step;
  std::string kind;
  nlohmann::json inputs; // what the key was made of
  int64_t created = 0;   // Unix seconds
  int64_t last_used = 0;
  int64_t source_date_epoch = 0; // the bake's epoch when it was built; 0 when not recorded
  uint64_t size = 0;
  int digest_format = kDigestFormat;
};

struct PendingLayer {
  std::string key;
  std::filesystem::path dir;  // CACHE/layers/.tmp-KEY-PID
  std::filesystem::path tree; // dir/tree
  std::filesystem::path work; // dir/work: overlayfs' scratch folder
};

class LayerCache {
public:
  // Opens (and creates) the cache folder; refuses one written in another format.
  static Expected<LayerCache> open(const std::filesystem::path& dir);

  LayerCache(LayerCache&& other) noexcept;
  LayerCache& operator=(LayerCache&&) = delete;
  ~LayerCache(); // releases the shared locks this build holds

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path layers_dir() const { return cache::at(dir_, cache::kLayers); }
  std::filesystem::path exports_dir() const { return cache::at(dir_, cache::kExports); }
  // Digests of big files (artifacts, a parent's rootfs, exports) kept while they are unchanged;
  // written back when the cache object goes.
  util::DigestMemo& digests() { return digests_; }

  // The layer under KEY, locked for this build and checked against its digest. nullopt when
  // absent; when damaged, also sets `problem`, and the entry is removed.
  std::optional<LayerMeta> find(const std::string& key, std::string* problem);

  // The newest layer the same image built for the same step, to explain a miss.
  std::optional<LayerMeta> previous(const std::string& image, const std::string& step) const;

  Expected<PendingLayer> begin(const std::string& key);
  // Completes a pending layer: measures it, writes meta.json, renames it into place. When another
  // build stored the same key first, theirs is kept and returned.
  Expected<LayerMeta> commit(PendingLayer& pending, LayerMeta meta);
  void discard(PendingLayer& pending);

  // Records the epoch in the meta.json of a layer built before kiln kept it (see
  // base_epoch_of); a layer that has one keeps it.
  Status record_epoch(LayerMeta& meta, int64_t epoch);

  // Removes a layer (used when a layer is replaced by --refresh or max-age).
  Status remove(const std::string& key);

  // A shared lock on an entry, held until this object goes; false if it could not be had.
  bool hold(const std::string& key);

  std::vector<LayerMeta> list() const;

  // The key under which secrets are HMAC'd into cache keys: random, made once per cache,
  // readable by root only (CACHE/secret.key).
  Expected<std::string> hmac_key();

private:
  explicit LayerCache(std::filesystem::path dir)
      : dir_(dir), digests_(cache::at(dir, cache::kDigests))
  {
  }

  std::filesystem::path dir_;
  std::vector<int> locks_;
  util::DigestMemo digests_;
};

// The digest of a layer tree (not of file contents: see layer_cache.cpp for why).
Expected<std::string> layer_digest(const std::filesystem::path& tree, uint64_t* size);

Expected<LayerMeta> read_layer_meta(const std::filesystem::path& file);

} // namespace kiln::bake
