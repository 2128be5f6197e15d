// The memory backend: a store held in the process, for tests. Objects opened on the same
// MemoryStore::Shared are users of one store, as processes are of a folder: a blob another user
// put is known only after its sync(), locks are shared or exclusive across them, and documents
// have the same create-once and compare-and-swap writes.
#pragma once

#include "store/store.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>

namespace kiln::store {

class MemoryStore : public Store {
public:
  // What the users of one memory store share.
  struct Shared {
    std::mutex mutex;
    std::map<std::string, std::string> blobs; // written, synced or not
    std::set<std::string> indexed;            // synced: known to every user
    std::map<std::string, std::string> documents;
    std::shared_mutex lock; // the store lock: shared by publishes, exclusive for gc
  };

  explicit MemoryStore(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}

  Expected<std::unique_ptr<StoreLock>> lock(Access access) override;

  Expected<bool> has_blob(const std::string& digest) override;
  Status put_blob(const std::string& digest, std::string_view bytes) override;
  Expected<std::string> get_blob(const std::string& digest) override;
  Status delete_blob(const std::string& digest) override;
  Expected<std::vector<BlobEntry>> list_blobs() override;
  Status sync() override;
  Expected<std::vector<std::string>> list_unindexed() override;
  Status remove_unindexed(const std::string& name) override;

  Expected<std::optional<std::string>> get_document(const std::string& key) override;
  Expected<bool> create_document(const std::string& key, std::string_view content) override;
  Expected<bool> replace_document(const std::string& key,
                                  const std::optional<std::string>& expected,
                                  std::string_view content) override;
  Status delete_document(const std::string& key) override;
  Expected<std::vector<std::string>> list_documents(const std::string& prefix) override;

private:
  std::shared_ptr<Shared> shared_;
  std::set<std::string> pending_; // put by this user, not yet synced
};

} // namespace kiln::store
