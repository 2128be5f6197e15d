#include "release/gc.hpp"

#include "release/channels.hpp"
#include "release/version.hpp"
#include "store/shared_layers.hpp"

#include <ctime>
#include <set>

namespace kiln::release {

std::vector<std::string> expired_versions(const std::vector<VersionAge>& versions,
                                          const Retention& retention, int64_t now)
{
  std::vector<std::string> expired;
  size_t n = versions.size();
  for (size_t i = 0; i < n; ++i) {
    const VersionAge& v = versions[i];
    bool newest = n - i <= static_cast<size_t>(retention.keep_newest);
    bool young = now - v.published < retention.keep_younger_than;
    if (!v.in_channel && !newest && !young)
      expired.push_back(v.version);
  }
  return expired;
}

namespace {

// Decides per image; adds the kept versions' chunks to `referenced`.
Status plan_image(store::Store& store, const std::string& name, const Retention& retention,
                  int64_t now, GcResult& result, std::set<std::string>& referenced)
{
  auto image = read_image_state(store, name, false);
  if (!image)
    return std::move(image).error();
  std::vector<VersionAge> ages;
  std::vector<Version> bodies;
  for (const auto& version : image->versions) {
    auto d = read_version(store, name, version);
    if (!d)
      return std::move(d).error();
    ages.push_back({version, d->version.published, !image->channels.channels_at(version).empty()});
    bodies.push_back(std::move(d->version));
  }
  auto expired = expired_versions(ages, retention, now);
  std::set<std::string> going(expired.begin(), expired.end());
  for (const auto& v : bodies) {
    if (going.count(v.version)) {
      result.versions.push_back(name + "@" + v.version);
      continue;
    }
    ++result.kept_versions;
    for (const auto& file : v.files) {
      for (const auto& chunk : file.stored.chunks)
        referenced.insert(chunk.digest);
    }
  }
  return ok_status();
}

// The shared layer cache (bake/remote_cache.hpp): a layer younger than keep_younger_than keeps
// its chunks; an older one goes (a machine that needs it builds and uploads it again). A document
// that cannot be read keeps nothing and goes too.
Status plan_shared_layers(store::Store& store, const Retention& retention, int64_t now,
                          GcResult& result, std::set<std::string>& referenced)
{
  auto keys = store::list_shared_layers(store);
  if (!keys)
    return std::move(keys).error();
  for (const auto& key : *keys) {
    auto text = store.get_document(store::kSharedLayersPrefix + key);
    if (!text)
      return std::move(text).error();
    if (!*text)
      continue;
    auto layer = store::parse_shared_layer(**text);
    if (layer && now - layer->created < retention.keep_younger_than) {
      ++result.kept_cache_layers;
      for (const auto& chunk : layer->archive.chunks)
        referenced.insert(chunk.digest);
      continue;
    }
    result.cache_layers.push_back(key);
  }
  return ok_status();
}

Status remove_version(store::Store& store, const std::string& ref)
{
  size_t at = ref.find('@');
  std::string name = ref.substr(0, at), version = ref.substr(at + 1);
  // The version first: once it is gone nothing refers to its chunks.
  KILN_TRY(store.delete_document(version_key(name, version)));
  return store.delete_document(revoked_key(name, version));
}

} // namespace

Expected<GcResult> gc(store::Store& store, const Retention& retention, bool dry_run, bool force)
{
  auto loss = store.index_loss();
  if (!loss)
    return std::move(loss).error();
  if (*loss && !force)
    return make_error(ExitCode::refused, "gc refuses to run: " + **loss,
                      "restore the index from a backup; kiln store fsck shows what the chunks "
                      "hold; kiln gc --force removes every chunk the index does not list");
  auto lock = store.lock(store::Access::exclusive);
  if (!lock)
    return std::move(lock).error();
  GcResult result;
  result.dry_run = dry_run;
  int64_t now = std::time(nullptr);
  std::set<std::string> referenced;
  auto images = list_images(store);
  if (!images)
    return std::move(images).error();
  for (const auto& name : *images)
    KILN_TRY(plan_image(store, name, retention, now, result, referenced));
  KILN_TRY(plan_shared_layers(store, retention, now, result, referenced));
  auto blobs = store.list_blobs();
  if (!blobs)
    return std::move(blobs).error();
  // Kept versions whose chunks the index lacks: the index was damaged or lost (on a backend
  // with no index_loss() of its own too). Removing what it does not list could destroy them.
  std::set<std::string> indexed;
  for (const auto& blob : *blobs)
    indexed.insert(blob.digest);
  size_t missing = 0;
  for (const auto& digest : referenced)
    missing += indexed.count(digest) ? 0 : 1;
  if (missing > 0 && !force)
    return make_error(ExitCode::refused,
                      "gc refuses to run: " + std::to_string(missing) +
                          " chunks of the versions it keeps are not in the store's index",
                      "kiln store fsck names the versions; kiln gc --force removes every chunk "
                      "the index does not list");
  auto litter = store.list_unindexed();
  if (!litter)
    return std::move(litter).error();
  result.litter = litter->size();
  for (const auto& version : result.versions) {
    if (!dry_run)
      KILN_TRY(remove_version(store, version));
  }
  for (const auto& key : result.cache_layers) {
    if (!dry_run)
      KILN_TRY(store.delete_document(store::kSharedLayersPrefix + key));
  }
  for (const auto& blob : *blobs) {
    if (referenced.count(blob.digest))
      continue;
    ++result.blobs;
    result.blob_bytes += blob.size;
    if (!dry_run)
      KILN_TRY(store.delete_blob(blob.digest));
  }
  for (const auto& name : *litter) {
    if (!dry_run)
      KILN_TRY(store.remove_unindexed(name));
  }
  if (!dry_run) // a packing backend now rewrites or removes the packs that held what went
    KILN_TRY(store.compact());
  return result;
}

} // namespace kiln::release
