// The layer cache shared through a store (--cache-from, --cache-to, cache: in kiln.yaml), so
// that a fleet of machines that start empty share what any of them built.
//
// A build looks each layer's key up in the local cache first, then in the `from` store. A hit
// there downloads the layer's archive (its chunks, in few ranged reads; those an older layer of the
// same step on this machine holds too are taken from it, so an unchanged file is not downloaded
// again), unpacks it in a confined child (sandbox/unpack.hpp), makes its specials
// (layer_archive.hpp) and commits it to the local cache, where it must measure to the digest the
// document gives: the layers above chain that digest in their keys. The keys are the local cache's
// own, so a hit is exactly as safe as a local one.
//
// With a `to` store, every layer of the build that store lacks is uploaded on a worker thread
// while the build goes on (the layer is immutable once committed): the chunks of its archive that
// the store lacks (an unchanged file is not uploaded twice), a sync, then its signed document
// (store/shared_layers.hpp), created once; the store's shared lock is held meanwhile, so a gc
// cannot remove chunks the document is about to name.
//
// Trust: a document is used only when signed by the configured public key (documents are store
// input, hostile until checked), and written only with the signing key. A secret's value
// reaches a key only as an HMAC with the cache's secret key: a fleet that shares layers of
// steps with secrets shares that key as a root-only file (cache.secret_key), never through the
// store, where anyone who can read the cache could test guesses of a weak secret against it.
#pragma once

#include "bake/layer_cache.hpp"
#include "bake/options.hpp"
#include "store/shared_layers.hpp"
#include "store/store.hpp"
#include "util/error.hpp"
#include "util/process.hpp"

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace kiln::bake {

// What became of the layers a build offered the `to` store.
struct PushReport {
  int pushed = 0;                 // uploaded now
  int present = 0;                // the store had them
  uint64_t new_bytes = 0;         // stored bytes of the new chunks
  std::vector<std::string> notes; // a line per layer not uploaded, with why
};

// What a download took.
struct FetchReport {
  size_t chunks = 0;         // of the layer's archive
  size_t chunks_at_hand = 0; // of them, found in an earlier layer on this machine
  uint64_t bytes = 0;        // read from the store
};

class RemoteCache {
public:
  // Opens the stores `options` names (the `to` store is created when missing); fails only when
  // a key their use needs is not configured. A store that cannot be opened is left out, and
  // problems() says why.
  static Expected<std::unique_ptr<RemoteCache>> open(const SharedCacheOptions& options,
                                                     const store::RemoteOptions& remote,
                                                     const std::filesystem::path& scratch);
  ~RemoteCache(); // waits for the uploads

  const std::vector<std::string>& problems() const { return problems_; }
  bool reads() const { return from_ != nullptr; }
  bool writes() const { return to_ != nullptr; }
  const std::string& from_location() const { return options_.from; }

  // The layer under KEY in the `from` store; nullopt when absent or unusable (then `problem`
  // says why: a bad signature, a malformed document, the store failing).
  std::optional<store::SharedLayer> find(const std::string& key, std::string* problem);

  // Downloads and unpacks `layer` into `tree` (an empty pending layer's); the caller commits it
  // and compares the digest. With `earlier` (an older layer of the same step on this machine),
  // the chunks its archive shares with that one's are taken from it, not read.
  Status fetch(const store::SharedLayer& layer, const std::filesystem::path& tree,
               const std::filesystem::path& earlier, util::ProcessObserver* log,
               FetchReport* report);

  // Queues a committed layer (under CACHE/layers) for upload; returns at once.
  void push(const LayerMeta& meta, const std::filesystem::path& tree);

  // Waits for the queued uploads.
  PushReport finish();

private:
  RemoteCache(SharedCacheOptions options, std::filesystem::path scratch)
      : options_(std::move(options)), scratch_(std::move(scratch))
  {
  }
  struct Job {
    LayerMeta meta;
    std::filesystem::path tree;
  };
  void work();
  Status upload(const Job& job);
  std::unordered_map<std::string, std::string> chunks_at_hand(const store::SharedLayer& layer,
                                                              const std::filesystem::path& earlier);

  SharedCacheOptions options_;
  std::filesystem::path scratch_;
  std::unique_ptr<store::Store> from_;
  std::unique_ptr<store::Store> to_; // used by the worker thread only
  std::vector<std::string> problems_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;
  bool closing_ = false;
  PushReport report_;
  std::thread worker_;
};

// The HMAC key for secrets in cache keys from a shared key file: at least 32 bytes, a regular
// file that only its owner (root, or the user running kiln) can read or write.
Expected<std::string> read_shared_secret_key(const std::filesystem::path& file);

} // namespace kiln::bake
