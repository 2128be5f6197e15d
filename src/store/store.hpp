// The artifact store's interface: content-addressed blobs, and small named documents with
// conditional writes, on which publish, pull, channels and retention are built.
//
// Backends live one per folder (local/ for a folder, memory/ for tests; S3, OCI and HTTP next)
// and are chosen by the location's URL scheme in open.cpp. Every backend passes the one suite in
// tests/unit/test_store_backends.cpp. Nothing here assumes a filesystem: "durable" and "visible"
// are what sync() promises, and the lock is whatever the backend can offer (flock for a folder; a
// lease document, written with the conditional writes below and renewed while the work runs,
// where there is no lock primitive).
#pragma once

#include "util/error.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::store {

// Held while a publish or a gc runs: publishes share the store, a gc has it alone, so a gc never
// removes a chunk that a running publish has found present and is about to refer to. Released
// when destroyed.
class StoreLock {
public:
  virtual ~StoreLock() = default;
};

enum class Access { shared, exclusive };

struct BlobEntry {
  std::string digest;
  int64_t size = 0; // bytes as stored (compressed, for chunks)
};

// A blob's name must be a sha256 digest in lowercase hex: anything else (a path, "..") is
// refused before a backend uses it. For backends.
Status check_digest(const std::string& digest);

class Store {
public:
  virtual ~Store() = default;

  // Waits for the lock; the hint names what holds it up when it takes long.
  virtual Expected<std::unique_ptr<StoreLock>> lock(Access access) = 0;

  // Blobs are known by a sha256 digest (lowercase hex) that their writer gives: for chunks, of
  // the chunk before compression (store/chunks checks it on every read). put_blob may be called
  // from several threads at once; every other call from one thread at a time.
  // A blob that another writer stored after this object first looked may be reported missing
  // (and then written again, which is harmless); a blob reported present is stored.
  virtual Expected<bool> has_blob(const std::string& digest) = 0;
  virtual Status put_blob(const std::string& digest, std::string_view bytes) = 0;
  virtual Expected<std::string> get_blob(const std::string& digest) = 0;
  // Several blobs at once, in the order asked: a remote backend reads them in few requests
  // (adjacent ones in one ranged read) and in parallel.
  virtual Expected<std::vector<std::string>> get_blobs(const std::vector<std::string>& digests);
  // A blob deleted is gone from the index at once; the space it held is freed by compact().
  virtual Status delete_blob(const std::string& digest) = 0;
  // In digest order.
  virtual Expected<std::vector<BlobEntry>> list_blobs() = 0;
  // Makes every blob put so far durable, and known to other users of the store (the local
  // backend: the filesystem synced, then the index written; a remote one: its writes
  // acknowledged and its index objects written). Until then a blob is only known to this object:
  // a publish syncs once, before its version becomes visible.
  virtual Status sync() = 0;
  // Stored objects that were never made known by a sync(): what an interrupted publish left (or a
  // running one is writing); remove them only while holding the exclusive lock.
  virtual Expected<std::vector<std::string>> list_unindexed() = 0;
  virtual Status remove_unindexed(const std::string& name) = 0;
  // After deletions, frees what they held: a backend that packs blobs together rewrites or
  // removes its packs and consolidates its index. gc calls it last, with the exclusive lock.
  virtual Status compact() { return ok_status(); }

  // Documents are small texts under a key such as "images/linux-agent/versions/1.1.0".
  virtual Expected<std::optional<std::string>> get_document(const std::string& key) = 0;
  // Creates the document only when the key is free; false when it already exists.
  virtual Expected<bool> create_document(const std::string& key, std::string_view content) = 0;
  // Replaces the document only when it still holds `expected` (nullopt: when it does not exist);
  // false when another writer changed it first.
  virtual Expected<bool> replace_document(const std::string& key,
                                          const std::optional<std::string>& expected,
                                          std::string_view content) = 0;
  virtual Status delete_document(const std::string& key) = 0;
  virtual Expected<std::vector<std::string>> list_documents(const std::string& prefix) = 0;

  // What the store knows it had but its index no longer lists (an index deleted, replaced or
  // emptied), as a sentence; nullopt when the index is whole. A store with such a loss must not
  // be taken for a new one: gc refuses to run on it, fsck reports it.
  virtual Expected<std::optional<std::string>> index_loss() { return std::optional<std::string>(); }
};

// Whether opening a store may create it. Only the commands that add to a store create one, so
// that a mistyped location is reported, never turned into an empty store.
enum class OpenMode { existing, create };

} // namespace kiln::store
