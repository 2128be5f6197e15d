// The local backend: a folder holding blobs/AB/DIGEST files (written to a temporary name and
// renamed, so a blob is whole or absent) and index.sqlite (WAL) with the documents and the list
// of blobs. A blob enters the index only at sync(), after the filesystem was synced, so an
// indexed blob is always durable; a blob file without an index entry is litter a crash left.
// Schema changes go through PRAGMA user_version migrations.
#pragma once

#include "store/store.hpp"
#include "util/sqlite.hpp"

#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_set>

namespace kiln::store {

class LocalStore : public Store {
public:
  static Expected<std::unique_ptr<LocalStore>> open(const std::filesystem::path& root);

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
  Expected<std::optional<std::string>> index_loss() override;

  // The schema level this kiln writes.
  static constexpr int64_t kSchemaVersion = 2;
  // Beside the index: how many documents the store ever created. It only grows, so an index
  // that counts fewer has lost some.
  static constexpr const char* kMarker = "kiln-store.json";

private:
  LocalStore(std::filesystem::path root, util::Database db)
      : root_(std::move(root)), db_(std::move(db))
  {
  }
  std::filesystem::path blob_path(const std::string& digest) const;
  Expected<std::unordered_set<std::string>> read_index(); // every indexed digest
  Expected<int64_t> created_in_index();
  Status raise_marker(int64_t created);

  std::filesystem::path root_;
  util::Database db_;
  std::mutex pending_mutex_;               // put_blob runs on several threads
  std::map<std::string, int64_t> pending_; // blobs written but not yet synced and indexed
  // The index's digests, read at the first has_blob: what this object knows to be stored.
  std::optional<std::unordered_set<std::string>> indexed_;
};

// The local backend for a folder path (a file:// URL without its scheme), which must already
// hold a store unless `mode` allows creating one.
Expected<std::unique_ptr<Store>> open_local_store(const std::string& path, OpenMode mode);

} // namespace kiln::store
