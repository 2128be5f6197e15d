#include "store/memory/memory_store.hpp"

namespace kiln::store {

namespace {

class MemoryLock : public StoreLock {
public:
  MemoryLock(std::shared_ptr<MemoryStore::Shared> shared, Access access)
      : shared_(std::move(shared)), access_(access)
  {
    if (access_ == Access::exclusive)
      shared_->lock.lock();
    else
      shared_->lock.lock_shared();
  }
  ~MemoryLock() override
  {
    if (access_ == Access::exclusive)
      shared_->lock.unlock();
    else
      shared_->lock.unlock_shared();
  }

private:
  std::shared_ptr<MemoryStore::Shared> shared_;
  Access access_;
};

} // namespace

Expected<std::unique_ptr<StoreLock>> MemoryStore::lock(Access access)
{
  return std::unique_ptr<StoreLock>(new MemoryLock(shared_, access));
}

Expected<bool> MemoryStore::has_blob(const std::string& digest)
{
  KILN_TRY(check_digest(digest));
  std::lock_guard guard(shared_->mutex);
  return shared_->indexed.count(digest) > 0 || pending_.count(digest) > 0;
}

Status MemoryStore::put_blob(const std::string& digest, std::string_view bytes)
{
  KILN_TRY(check_digest(digest));
  std::lock_guard guard(shared_->mutex);
  shared_->blobs[digest] = std::string(bytes);
  if (!shared_->indexed.count(digest))
    pending_.insert(digest);
  return ok_status();
}

Expected<std::string> MemoryStore::get_blob(const std::string& digest)
{
  KILN_TRY(check_digest(digest));
  std::lock_guard guard(shared_->mutex);
  auto it = shared_->blobs.find(digest);
  if (it == shared_->blobs.end())
    return make_error(ExitCode::input, "blob " + digest + " is not in the store");
  return it->second;
}

Status MemoryStore::delete_blob(const std::string& digest)
{
  KILN_TRY(check_digest(digest));
  std::lock_guard guard(shared_->mutex);
  shared_->blobs.erase(digest);
  shared_->indexed.erase(digest);
  pending_.erase(digest);
  return ok_status();
}

Expected<std::vector<BlobEntry>> MemoryStore::list_blobs()
{
  std::lock_guard guard(shared_->mutex);
  std::vector<BlobEntry> entries;
  for (const auto& digest : shared_->indexed) { // a std::set: in digest order
    auto it = shared_->blobs.find(digest);
    if (it != shared_->blobs.end())
      entries.push_back({digest, static_cast<int64_t>(it->second.size())});
  }
  return entries;
}

Status MemoryStore::sync()
{
  std::lock_guard guard(shared_->mutex);
  shared_->indexed.insert(pending_.begin(), pending_.end());
  pending_.clear();
  return ok_status();
}

Expected<std::vector<std::string>> MemoryStore::list_unindexed()
{
  std::lock_guard guard(shared_->mutex);
  std::vector<std::string> names;
  for (const auto& [digest, bytes] : shared_->blobs) {
    if (!shared_->indexed.count(digest) && !pending_.count(digest))
      names.push_back(digest);
  }
  return names;
}

Status MemoryStore::remove_unindexed(const std::string& name)
{
  KILN_TRY(check_digest(name));
  std::lock_guard guard(shared_->mutex);
  if (shared_->indexed.count(name))
    return make_error(ExitCode::usage, "blob " + name + " is indexed");
  shared_->blobs.erase(name);
  return ok_status();
}

Expected<std::optional<std::string>> MemoryStore::get_document(const std::string& key)
{
  std::lock_guard guard(shared_->mutex);
  auto it = shared_->documents.find(key);
  if (it == shared_->documents.end())
    return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

Expected<bool> MemoryStore::create_document(const std::string& key, std::string_view content)
{
  std::lock_guard guard(shared_->mutex);
  return shared_->documents.emplace(key, std::string(content)).second;
}

Expected<bool> MemoryStore::replace_document(const std::string& key,
                                             const std::optional<std::string>& expected,
                                             std::string_view content)
{
  if (!expected)
    return create_document(key, content);
  std::lock_guard guard(shared_->mutex);
  auto it = shared_->documents.find(key);
  if (it == shared_->documents.end() || it->second != *expected)
    return false;
  it->second = std::string(content);
  return true;
}

Status MemoryStore::delete_document(const std::string& key)
{
  std::lock_guard guard(shared_->mutex);
  shared_->documents.erase(key);
  return ok_status();
}

Expected<std::vector<std::string>> MemoryStore::list_documents(const std::string& prefix)
{
  std::lock_guard guard(shared_->mutex);
  std::vector<std::string> keys;
  for (auto it = shared_->documents.lower_bound(prefix);
       it != shared_->documents.end() && it->first.rfind(prefix, 0) == 0; ++it)
    keys.push_back(it->first);
  return keys;
}

} // namespace kiln::store
