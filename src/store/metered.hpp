// A store that counts the blob bytes that pass through it, for progress lines with a rate and
// for --json: every call goes to the store it wraps, except reads of the blobs the caller said it
// has at hand (chunks found on this machine), which are served without a request.
#pragma once

#include "store/store.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <unordered_map>

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
    auto blobs = get_blobs({digest});
    if (!blobs)
      return std::move(blobs).error();
    return std::move(blobs->front());
  }
  Expected<std::vector<std::string>> get_blobs(const std::vector<std::string>& digests) override
  {
    std::vector<std::string> missing;
    for (const auto& digest : digests) {
      if (!at_hand_.count(digest))
        missing.push_back(digest);
    }
    std::vector<std::string> read;
    if (!missing.empty()) {
      auto blobs = inner_->get_blobs(missing);
      if (!blobs)
        return std::move(blobs).error();
      for (const auto& blob : *blobs)
        received_ += blob.size();
      read = std::move(*blobs);
    }
    std::vector<std::string> out;
    size_t next = 0;
    for (const auto& digest : digests) {
      if (auto it = at_hand_.find(digest); it != at_hand_.end())
        out.push_back(it->second);
      else if (next < read.size())
        out.push_back(std::move(read[next++]));
    }
    return out;
  }
  // Blobs (as stored: compressed chunks) to serve from memory instead of the store; replaces
  // those given before.
  void set_at_hand(std::unordered_map<std::string, std::string> blobs)
  {
    at_hand_ = std::move(blobs);
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
  std::unordered_map<std::string, std::string> at_hand_;
};

} // namespace kiln::store
