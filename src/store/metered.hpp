// A store that counts the blob bytes that pass through it, for progress lines with a rate and
// for --json: every call goes to the store it wraps.
#pragma once

#include "store/store.hpp"

#include <atomic>
#include <cstdint>
#include <memory>

namespace kiln::store {

class MeteredStore : public Store {
public:
  explicit MeteredStore(std::unique_ptr<Store> inner) : inner_(std::move(inner)) {}

  uint64_t bytes_sent() const { return sent_; }         // blobs put (only what the store lacked)
  uint64_t bytes_received() const { return received_; } // blobs read

  Expected<std::unique_ptr<StoreLock>> lock(Access access) override { return inner_->lock(access); }
  Expected<bool> has_blob(const std::string& digest) override { return inner_->has_blob(digest); }
  Status put_blob(const std::string& digest, std::string_view bytes) override
  {
    Status put = inner_->put_blob(digest, bytes);
    if (put)
      sent_ += bytes.size();
    return put;
  }
  Expected<std::string> get_blob(const std::string& digest) override
  {
    auto blob = inner_->get_blob(digest);
    if (blob)
      received_ += blob->size();
    return blob;
  }
  Expected<std::vector<std::string>> get_blobs(const std::vector<std::string>& digests) override
  {
    auto blobs = inner_->get_blobs(digests);
    if (blobs)
      for (const auto& blob : *blobs)
        received_ += blob.size();
    return blobs;
  }
  Status delete_blob(const std::string& digest) override { return inner_->delete_blob(digest); }
  Expected<std::vector<BlobEntry>> list_blobs() override { return inner_->list_blobs(); }
  Status sync() override { return inner_->sync(); }
  Expected<std::vector<std::string>> list_unindexed() override { return inner_->list_unindexed(); }
  Status remove_unindexed(const std::string& name) override
  {
    return inner_->remove_unindexed(name);
  }
  Status compact() override { return inner_->compact(); }
  Expected<std::optional<std::string>> get_document(const std::string& key) override
  {
    return inner_->get_document(key);
  }
  Expected<bool> create_document(const std::string& key, std::string_view content) override
  {
    return inner_->create_document(key, content);
  }
  Expected<bool> replace_document(const std::string& key,
                                  const std::optional<std::string>& expected,
                                  std::string_view content) override
  {
    return inner_->replace_document(key, expected, content);
  }
  Status delete_document(const std::string& key) override { return inner_->delete_document(key); }
  Expected<std::vector<std::string>> list_documents(const std::string& prefix) override
  {
    return inner_->list_documents(prefix);
  }
  Expected<std::optional<std::string>> index_loss() override { return inner_->index_loss(); }

private:
  std::unique_ptr<Store> inner_;
  std::atomic<uint64_t> sent_ = 0, received_ = 0;
};

} // namespace kiln::store
