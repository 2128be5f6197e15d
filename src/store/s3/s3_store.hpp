// The S3 backend: a store below s3://BUCKET/PREFIX on AWS S3 or an S3-compatible server. The
// objects it keeps are described in packs.hpp; how it locks, in lease.hpp.
//
// Blobs go into packs of about `pack_size` bytes; a full pack uploads in the background, up to
// `transfers` at once, while chunks go on being made; sync() waits for them, uploads the last
// pack and then one index object listing every pack this object wrote. A reader loads the index
// objects once, then reads blobs with ranged GETs, adjacent ones merged.
//
// Documents are created with If-None-Match: * and replaced with If-Match: ETAG. On first use
// the store checks that the server honours them (a second create of a probe object must be
// refused); a server that ignores them (s3rver, some old gateways) gets the fallback: every
// document write runs under an exclusive lease (locks/documents.*), so concurrent writers are
// still safe, only slower.
//
// gc (with the store's exclusive lease) deletes blobs from this object's index, then compact()
// rewrites packs that are mostly dead, writes one consolidated index object, removes the index
// objects it replaces, and only then removes the packs nothing lists any more. A publish holds
// the shared lease from its first has_blob to its version document, so no publish is running
// while gc removes anything.
#pragma once

#include "cloud/s3.hpp"
#include "store/open.hpp"
#include "store/s3/lease.hpp"
#include "store/s3/packs.hpp"
#include "store/store.hpp"

#include <deque>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace kiln::store::s3 {

struct S3StoreSettings {
  cloud::S3Settings s3;
  uint64_t pack_size = 16 << 20;             // a pack is uploaded once it holds this much
  LeaseSettings store_lease;                 // the lock of publish and gc
  LeaseSettings document_lease{10, 60, 0.2}; // the fallback for document writes
  std::optional<bool> conditional_writes;    // nullopt: probe the server on first use
};

class S3Store : public Store {
public:
  static Expected<std::unique_ptr<S3Store>> open(const std::string& url, OpenMode mode,
                                                 S3StoreSettings settings,
                                                 std::shared_ptr<cloud::CredentialSource> creds,
                                                 const std::string& region);

  ~S3Store() override;
  Expected<std::unique_ptr<StoreLock>> lock(Access access) override;

  Expected<bool> has_blob(const std::string& digest) override;
  Status put_blob(const std::string& digest, std::string_view bytes) override;
  Expected<std::string> get_blob(const std::string& digest) override;
  Expected<std::vector<std::string>> get_blobs(const std::vector<std::string>& digests) override;
  Status delete_blob(const std::string& digest) override;
  Expected<std::vector<BlobEntry>> list_blobs() override;
  Status sync() override;
  Expected<std::vector<std::string>> list_unindexed() override;
  Status remove_unindexed(const std::string& name) override;
  Status compact() override;

  Expected<std::optional<std::string>> get_document(const std::string& key) override;
  Expected<bool> create_document(const std::string& key, std::string_view content) override;
  Expected<bool> replace_document(const std::string& key,
                                  const std::optional<std::string>& expected,
                                  std::string_view content) override;
  Status delete_document(const std::string& key) override;
  Expected<std::vector<std::string>> list_documents(const std::string& prefix) override;

  cloud::S3Client& client() { return client_; }
  // Whether the server honours conditional writes (probing it when not yet known).
  Expected<bool> conditional_writes();

  static constexpr const char* kMarker = "kiln-store.json";

private:
  S3Store(std::unique_ptr<cloud::S3Client> client, std::string prefix, S3StoreSettings settings)
      : owned_(std::move(client)), client_(*owned_), prefix_(std::move(prefix)),
        settings_(std::move(settings))
  {
  }

  struct Location {
    std::string pack;
    uint64_t offset = 0, length = 0;
  };

  Status load_index(); // once: every index object
  Status upload_pack(PackBuilder& builder);
  Status finish_oldest_upload(std::unique_lock<std::mutex>& lock);
  Status finish_uploads(); // waits for every background upload; the first failure
  Status write_index_object(const Index& index, std::string* key_out);
  Expected<bool> put_document(const std::string& key, std::string_view content,
                              const std::vector<std::pair<std::string, std::string>>& condition);
  Expected<std::pair<std::optional<std::string>, std::string>>
  read_document(const std::string& key); // content and ETag
  bool torn(const std::string& body, const std::string& etag);
  Expected<bool> write_document(const std::string& key, const std::optional<std::string>& expected,
                                std::string_view content);

  std::unique_ptr<cloud::S3Client> owned_;
  cloud::S3Client& client_;
  std::string prefix_; // "" or "path/"
  S3StoreSettings settings_;

  std::mutex mutex_;
  bool index_loaded_ = false;
  std::unordered_map<std::string, Location> index_; // what readers can find, by blob digest
  Index packs_;                                     // every listed pack's entries
  std::vector<std::string> index_objects_;          // the keys loaded
  std::unordered_set<std::string> pending_;         // put and not yet synced
  PackBuilder filling_;
  Index written_; // packs uploaded since the last sync
  std::optional<bool> conditional_;
  std::mutex uploads_mutex_;
  std::deque<std::future<Status>> uploads_; // full packs being uploaded
};

// The factory of open.cpp: "s3://BUCKET/PREFIX" with the remote options.
Expected<std::unique_ptr<Store>> open_s3_store(const std::string& url, OpenMode mode,
                                               const RemoteOptions& options);

} // namespace kiln::store::s3
