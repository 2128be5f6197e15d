#include "store/s3/s3_store.hpp"

#include "util/hash.hpp"
#include "util/parallel.hpp"

#include <algorithm>
#include <chrono>
#include <future>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

namespace kiln::store::s3 {

namespace {

constexpr uint64_t kMergeGap = 64 << 10;   // read through gaps this small rather than ask twice
constexpr uint64_t kLongestRead = 2 << 20; // longer reads are split, to run in parallel
constexpr size_t kMaxDocument = 16 << 20;

std::string random_name()
{
  std::random_device device;
  return util::sha256_hex(std::to_string(device()) + std::to_string(device()) +
                          std::to_string(device()))
      .substr(0, 24);
}

Expected<bool> check_marker(cloud::S3Client& client, const std::string& key, OpenMode mode)
{
  cloud::S3Call call;
  call.key = key;
  auto answer = client.send(call);
  if (!answer)
    return std::move(answer).error();
  if (answer->status == 200) {
    auto marker = nlohmann::json::parse(answer->body, nullptr, false);
    if (!marker.is_object() || marker.value("kiln_store", 0) != 1 ||
        marker.value("layout", "") != "packs")
      return make_error(ExitCode::input,
                        client.name(key) + " is not the marker of a kiln store this kiln knows",
                        "is this prefix used by something else, or by a newer kiln?");
    return true;
  }
  if (answer->status == 404 && cloud::parse_error_body(answer->body).code != "NoSuchBucket") {
    if (mode == OpenMode::existing)
      return make_error(ExitCode::input,
                        "there is no kiln store at " + client.name(key.substr(0, key.size() - 15)),
                        "publish creates one; check the bucket and prefix for a typo");
    return false;
  }
  return client.error_of(*answer, "GET", key);
}

} // namespace

Expected<std::unique_ptr<S3Store>> S3Store::open(const std::string& url, OpenMode mode,
                                                 S3StoreSettings settings,
                                                 std::shared_ptr<cloud::CredentialSource> creds,
                                                 const std::string& region)
{
  auto parsed = cloud::parse_s3_url(url);
  if (!parsed)
    return std::move(parsed).error();
  auto client =
      std::make_unique<cloud::S3Client>(parsed->bucket, settings.s3, std::move(creds), region);
  std::string marker = parsed->prefix + kMarker;
  auto exists = check_marker(*client, marker, mode);
  if (!exists)
    return std::move(exists).error();
  if (!*exists) {
    KILN_TRY(client->put(marker, nlohmann::json{{"kiln_store", 1}, {"layout", "packs"}}.dump()));
    // Stays, so that locks/ is never empty: some servers on a filesystem remove an emptied
    // folder and fail a write into it that races with that.
    KILN_TRY(client->put(parsed->prefix + "locks/README",
                         "Leases of kiln's store lock: locks/store.* and locks/documents.*\n"));
  }
  return std::unique_ptr<S3Store>(
      new S3Store(std::move(client), parsed->prefix, std::move(settings)));
}

Expected<std::unique_ptr<StoreLock>> S3Store::lock(Access access)
{
  return take_lease(client_, prefix_ + "locks/store.", access, true, settings_.store_lease);
}

// ---- the index --------------------------------------------------------------------------------

Status S3Store::load_index()
{
  {
    std::lock_guard guard(mutex_);
    if (index_loaded_)
      return ok_status();
  }
  auto objects = client_.list(prefix_ + "index/");
  if (!objects)
    return std::move(objects).error();
  std::vector<Index> read(objects->size());
  KILN_TRY(util::parallel_for(objects->size(), client_.transfers(), [&](size_t i) -> Status {
    const std::string& key = (*objects)[i].key;
    auto text = client_.get(key);
    if (!text)
      return std::move(text).error();
    if (!*text)
      return ok_status(); // compacted away since the listing: its packs are in the new one
    auto index = index_from_json(**text, client_.name(key));
    if (!index)
      return std::move(index).error();
    read[i] = std::move(*index);
    return ok_status();
  }));
  std::lock_guard guard(mutex_);
  for (size_t i = 0; i < read.size(); ++i) {
    index_objects_.push_back((*objects)[i].key);
    for (auto& [pack, entries] : read[i]) {
      for (const auto& e : entries)
        index_.emplace(e.digest, Location{pack, e.offset, e.length});
      packs_[pack] = std::move(entries);
    }
  }
  index_loaded_ = true;
  return ok_status();
}

Status S3Store::upload_pack(PackBuilder& builder)
{
  std::vector<PackEntry> entries = builder.entries();
  std::string bytes = builder.seal();
  std::string name = util::sha256_hex(bytes);
  KILN_TRY(client_.put(prefix_ + pack_key(name), std::move(bytes)));
  std::lock_guard guard(mutex_);
  written_[name] = std::move(entries);
  return ok_status();
}

Status S3Store::write_index_object(const Index& index, std::string* key_out)
{
  std::string text = index_to_json(index);
  std::string key = prefix_ + "index/" + util::sha256_hex(text);
  KILN_TRY(client_.put(key, std::move(text)));
  if (key_out)
    *key_out = key;
  return ok_status();
}

// ---- blobs ------------------------------------------------------------------------------------

Expected<bool> S3Store::has_blob(const std::string& digest)
{
  KILN_TRY(check_digest(digest));
  KILN_TRY(load_index());
  std::lock_guard guard(mutex_);
  return index_.count(digest) > 0 || pending_.count(digest) > 0;
}

Status S3Store::put_blob(const std::string& digest, std::string_view bytes)
{
  KILN_TRY(check_digest(digest));
  KILN_TRY(load_index());
  PackBuilder full;
  {
    std::lock_guard guard(mutex_);
    if (index_.count(digest) || pending_.count(digest))
      return ok_status();
    pending_.insert(digest);
    filling_.add(digest, bytes);
    if (filling_.size() < settings_.pack_size)
      return ok_status();
    std::swap(full, filling_);
  }
  // Full packs upload in the background, a few at once, while chunks go on being made; a
  // failure is reported by the put_blob or sync that comes after it.
  std::unique_lock lock(uploads_mutex_);
  while (uploads_.size() >= static_cast<size_t>(client_.transfers())) {
    Status oldest = finish_oldest_upload(lock);
    if (!oldest)
      return oldest;
  }
  uploads_.push_back(std::async(std::launch::async, [this, pack = std::move(full)]() mutable {
    std::vector<PackEntry> entries = pack.entries();
    Status uploaded = upload_pack(pack);
    if (!uploaded) {
      std::lock_guard guard(mutex_);
      for (const auto& e : entries)
        pending_.erase(e.digest);
    }
    return uploaded;
  }));
  return ok_status();
}

Status S3Store::finish_oldest_upload(std::unique_lock<std::mutex>& lock)
{
  auto upload = std::move(uploads_.front());
  uploads_.pop_front();
  lock.unlock();
  Status done = upload.get();
  lock.lock();
  return done;
}

Status S3Store::finish_uploads()
{
  std::unique_lock lock(uploads_mutex_);
  Status first = ok_status();
  while (!uploads_.empty()) {
    Status done = finish_oldest_upload(lock);
    if (!done && first)
      first = done;
  }
  return first;
}

S3Store::~S3Store()
{
  (void)finish_uploads(); // what a publish that stopped early left in flight: litter for gc
}

Expected<std::string> S3Store::get_blob(const std::string& digest)
{
  auto blobs = get_blobs({digest});
  if (!blobs)
    return std::move(blobs).error();
  return std::move(blobs->front());
}

Expected<std::vector<std::string>> S3Store::get_blobs(const std::vector<std::string>& digests)
{
  for (const auto& digest : digests)
    KILN_TRY(check_digest(digest));
  KILN_TRY(load_index());
  // The blobs by pack, then each pack's wanted entries as few ranges as possible.
  std::map<std::string, std::vector<std::pair<PackEntry, size_t>>> by_pack;
  {
    std::lock_guard guard(mutex_);
    for (size_t i = 0; i < digests.size(); ++i) {
      Location where;
      if (auto it = index_.find(digests[i]); it != index_.end()) {
        where = it->second;
      } else {
        bool found = false;
        for (const auto& [pack, entries] : written_) { // uploaded by this object, not synced
          for (const auto& e : entries) {
            if (e.digest == digests[i]) {
              where = {pack, e.offset, e.length};
              found = true;
            }
          }
        }
        if (!found)
          return make_error(ExitCode::input,
                            "blob " + digests[i] + " is not in the store " + client_.name(prefix_));
      }
      by_pack[where.pack].push_back({{digests[i], where.offset, where.length}, i});
    }
  }
  struct Read {
    std::string pack;
    Range range;
    std::vector<std::pair<PackEntry, size_t>>* wanted;
  };
  std::vector<Read> reads;
  for (auto& [pack, wanted] : by_pack) {
    std::vector<PackEntry> entries;
    for (const auto& w : wanted)
      entries.push_back(w.first);
    for (auto& range : merge_ranges(entries, kMergeGap, kLongestRead))
      reads.push_back({pack, std::move(range), &wanted});
  }
  std::vector<std::string> out(digests.size());
  KILN_TRY(util::parallel_for(reads.size(), client_.transfers(), [&](size_t r) -> Status {
    const Read& read = reads[r];
    auto bytes =
        client_.get_range(prefix_ + pack_key(read.pack), read.range.first, read.range.last);
    if (!bytes)
      return std::move(bytes).error();
    for (size_t e : read.range.entries) {
      const auto& [entry, slot] = (*read.wanted)[e];
      out[slot] = bytes->substr(entry.offset - read.range.first, entry.length);
    }
    return ok_status();
  }));
  return out;
}

Status S3Store::delete_blob(const std::string& digest)
{
  KILN_TRY(check_digest(digest));
  KILN_TRY(load_index());
  std::lock_guard guard(mutex_);
  index_.erase(digest);
  pending_.erase(digest);
  return ok_status();
}

Expected<std::vector<BlobEntry>> S3Store::list_blobs()
{
  KILN_TRY(load_index());
  std::lock_guard guard(mutex_);
  std::vector<BlobEntry> entries;
  entries.reserve(index_.size());
  for (const auto& [digest, where] : index_)
    entries.push_back({digest, static_cast<int64_t>(where.length)});
  std::sort(entries.begin(), entries.end(),
            [](const BlobEntry& a, const BlobEntry& b) { return a.digest < b.digest; });
  return entries;
}

Status S3Store::sync()
{
  PackBuilder last;
  {
    std::lock_guard guard(mutex_);
    std::swap(last, filling_);
  }
  Status uploads = finish_uploads();
  if (!uploads)
    return uploads;
  if (!last.empty())
    KILN_TRY(upload_pack(last));
  Index written;
  {
    std::lock_guard guard(mutex_);
    std::swap(written, written_);
  }
  if (written.empty())
    return ok_status();
  std::string key;
  Status indexed = write_index_object(written, &key);
  std::lock_guard guard(mutex_);
  if (!indexed) {
    written_.insert(written.begin(), written.end()); // a later sync tries again
    return indexed;
  }
  index_objects_.push_back(key);
  for (auto& [pack, entries] : written) {
    for (const auto& e : entries) {
      index_.emplace(e.digest, Location{pack, e.offset, e.length});
      pending_.erase(e.digest);
    }
    packs_[pack] = std::move(entries);
  }
  return ok_status();
}

Expected<std::vector<std::string>> S3Store::list_unindexed()
{
  KILN_TRY(load_index());
  auto objects = client_.list(prefix_ + "packs/");
  if (!objects)
    return std::move(objects).error();
  std::vector<std::string> names;
  std::lock_guard guard(mutex_);
  for (const auto& object : *objects) {
    std::string relative = object.key.substr(prefix_.size());
    std::string name = pack_name_of(relative);
    if (name.empty())
      continue; // not kiln's: left alone
    if (!packs_.count(name) && !written_.count(name))
      names.push_back(relative);
  }
  return names;
}

Status S3Store::remove_unindexed(const std::string& name)
{
  std::string pack = pack_name_of(name);
  if (pack.empty())
    return make_error(ExitCode::usage, "'" + name + "' is not a pack of this store");
  {
    std::lock_guard guard(mutex_);
    if (packs_.count(pack) || written_.count(pack))
      return make_error(ExitCode::usage, "pack " + pack + " is indexed");
  }
  return client_.remove(prefix_ + name);
}

Status S3Store::compact()
{
  KILN_TRY(load_index());
  Index kept;                      // the consolidated index
  std::vector<std::string> doomed; // packs no blob is read from any more
  std::vector<std::pair<std::string, std::vector<PackEntry>>> repack;
  bool changed = false;
  {
    std::lock_guard guard(mutex_);
    for (const auto& [pack, entries] : packs_) {
      std::vector<PackEntry> live;
      uint64_t live_bytes = 0, all_bytes = 0;
      for (const auto& e : entries) {
        all_bytes += e.length;
        auto it = index_.find(e.digest);
        if (it != index_.end() && it->second.pack == pack && it->second.offset == e.offset) {
          live.push_back(e);
          live_bytes += e.length;
        }
      }
      if (live.size() != entries.size())
        changed = true;
      if (live.empty())
        doomed.push_back(pack);
      else if (live_bytes * 2 < all_bytes)
        repack.push_back({pack, std::move(live)});
      else
        kept[pack] = std::move(live);
    }
    if (index_objects_.size() > 1)
      changed = true;
  }
  if (!changed)
    return ok_status();
  // The mostly dead packs: their live blobs into new packs.
  for (const auto& [pack, live] : repack) {
    std::vector<std::string> digests;
    for (const auto& e : live)
      digests.push_back(e.digest);
    auto blobs = get_blobs(digests);
    if (!blobs)
      return std::move(blobs).error();
    PackBuilder builder;
    for (size_t i = 0; i < live.size(); ++i)
      builder.add(live[i].digest, (*blobs)[i]);
    KILN_TRY(upload_pack(builder));
    doomed.push_back(pack);
  }
  std::vector<std::string> old_objects;
  {
    std::lock_guard guard(mutex_);
    for (auto& [pack, entries] : written_)
      kept[pack] = std::move(entries);
    written_.clear();
    old_objects = index_objects_;
  }
  // New index first, then the old ones, then the packs: a crash at any point leaves every live
  // blob listed (twice at worst, which readers accept).
  std::string key;
  KILN_TRY(write_index_object(kept, &key));
  for (const auto& old : old_objects) {
    if (old != key)
      KILN_TRY(client_.remove(old));
  }
  KILN_TRY(util::parallel_for(doomed.size(), client_.transfers(), [&](size_t i) {
    return client_.remove(prefix_ + pack_key(doomed[i]));
  }));
  std::lock_guard guard(mutex_);
  index_objects_ = {key};
  packs_ = kept;
  index_.clear();
  for (const auto& [pack, entries] : kept)
    for (const auto& e : entries)
      index_.emplace(e.digest, Location{pack, e.offset, e.length});
  return ok_status();
}

// ---- documents --------------------------------------------------------------------------------

Expected<bool> S3Store::conditional_writes()
{
  {
    std::lock_guard guard(mutex_);
    if (settings_.conditional_writes)
      return *settings_.conditional_writes;
    if (conditional_)
      return *conditional_;
  }
  // Two creates of one new object: a server that honours If-None-Match refuses the second.
  std::string probe = prefix_ + "locks/probe-" + random_name();
  auto first = put_document(probe, "probe", {{"If-None-Match", "*"}});
  if (!first)
    return std::move(first).error();
  auto second = put_document(probe, "probe", {{"If-None-Match", "*"}});
  (void)client_.remove(probe);
  if (!second)
    return std::move(second).error();
  std::lock_guard guard(mutex_);
  conditional_ = !*second;
  return *conditional_;
}

// PUT of the object `key` with the condition headers: true when written, false on 412 (the
// condition failed).
Expected<bool>
S3Store::put_document(const std::string& key, std::string_view content,
                      const std::vector<std::pair<std::string, std::string>>& condition)
{
  for (int conflicts = 0;; ++conflicts) {
    cloud::S3Call call;
    call.method = "PUT";
    call.key = key;
    call.body = std::string(content);
    call.headers = condition;
    call.idempotent = condition.empty();
    auto answer = client_.send(call);
    if (!answer)
      return std::move(answer).error();
    if (answer->status == 200)
      return true;
    if (answer->status == 412)
      return false;
    // 409 ConditionalRequestConflict: another conditional write to the key was in flight.
    if (answer->status == 409 && conflicts < 5)
      continue;
    return client_.error_of(*answer, "PUT", call.key);
  }
}

Expected<std::pair<std::optional<std::string>, std::string>>
S3Store::read_document(const std::string& key)
{
  cloud::S3Call call;
  call.key = prefix_ + "documents/" + key;
  call.max_body = kMaxDocument;
  using Result = std::pair<std::optional<std::string>, std::string>;
  for (int attempt = 1;; ++attempt) {
    auto answer = client_.send(call);
    if (!answer)
      return std::move(answer).error();
    if (answer->status == 404)
      return Result{std::nullopt, ""};
    if (answer->status != 200)
      return client_.error_of(*answer, "GET", call.key);
    std::string etag = answer->header("etag").value_or("");
    if (attempt < 10 && torn(answer->body, etag)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10 * attempt));
      continue;
    }
    return Result{std::move(answer->body), etag};
  }
}

// A body read while the server was still writing it: some S3-compatible servers on a
// filesystem (s3rver) write objects in place, so a read can see part of a new document. Their
// ETag is the MD5 of the whole body, so such a read is read again. AWS writes atomically (and
// with SSE-KMS its ETag is no MD5): the check is for servers at an endpoint only. A server whose
// ETags are not MD5s costs a few retries per document and then gets its body taken as it is.
bool S3Store::torn(const std::string& body, const std::string& etag)
{
  if (settings_.s3.endpoint.empty())
    return false;
  if (etag.size() != 34 || etag.front() != '"' || etag.back() != '"')
    return false;
  return util::md5_hex(body) != etag.substr(1, 32);
}

Expected<std::optional<std::string>> S3Store::get_document(const std::string& key)
{
  auto read = read_document(key);
  if (!read)
    return std::move(read).error();
  return std::move(read->first);
}

// A create (expected nullopt) or a compare-and-swap, by the conditional writes or under the
// documents' lease.
Expected<bool> S3Store::write_document(const std::string& key,
                                       const std::optional<std::string>& expected,
                                       std::string_view content)
{
  auto conditional = conditional_writes();
  if (!conditional)
    return std::move(conditional).error();
  std::unique_ptr<StoreLock> lease;
  if (!*conditional) {
    auto taken = take_lease(client_, prefix_ + "locks/documents.", Access::exclusive, false,
                            settings_.document_lease);
    if (!taken)
      return std::move(taken).error();
    lease = std::move(*taken);
  }
  if (!expected && *conditional)
    return put_document(prefix_ + "documents/" + key, content, {{"If-None-Match", "*"}});
  auto now = read_document(key);
  if (!now)
    return std::move(now).error();
  if (now->first != expected)
    return false;
  if (!*conditional)
    return put_document(prefix_ + "documents/" + key, content, {});
  return put_document(prefix_ + "documents/" + key, content, {{"If-Match", now->second}});
}

Expected<bool> S3Store::create_document(const std::string& key, std::string_view content)
{
  return write_document(key, std::nullopt, content);
}

Expected<bool> S3Store::replace_document(const std::string& key,
                                         const std::optional<std::string>& expected,
                                         std::string_view content)
{
  return write_document(key, expected, content);
}

Status S3Store::delete_document(const std::string& key)
{
  return client_.remove(prefix_ + "documents/" + key);
}

Expected<std::vector<std::string>> S3Store::list_documents(const std::string& prefix)
{
  std::string base = prefix_ + "documents/";
  auto objects = client_.list(base + prefix);
  if (!objects)
    return std::move(objects).error();
  std::vector<std::string> keys;
  for (const auto& object : *objects) {
    keys.push_back(object.key.substr(base.size()));
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

// ---- opening ----------------------------------------------------------------------------------

Expected<std::unique_ptr<Store>> open_s3_store(const std::string& url, OpenMode mode,
                                               const RemoteOptions& options)
{
  S3StoreSettings settings;
  settings.s3.endpoint = options.endpoint;
  if (options.addressing == "path")
    settings.s3.path_style = true;
  else if (options.addressing == "virtual")
    settings.s3.path_style = false;
  else if (!options.addressing.empty())
    return make_error(ExitCode::usage, "s3 addressing '" + options.addressing + "' is unknown",
                      "give path or virtual");
  settings.s3.transfers = options.transfers;
  cloud::AwsContext context{nullptr, options.profile};
  std::string region = options.region.empty() ? cloud::find_region(context) : options.region;
  if (region.empty())
    region = "us-east-1";
  auto credentials = std::make_shared<cloud::CredentialSource>(context);
  auto store = S3Store::open(url, mode, std::move(settings), std::move(credentials), region);
  if (!store)
    return std::move(store).error();
  return std::unique_ptr<Store>(std::move(*store));
}

} // namespace kiln::store::s3
