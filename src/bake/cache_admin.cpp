#include "bake/cache_admin.hpp"

#include "bake/cache_layout.hpp"
#include "bake/export.hpp"
#include "bake/layer_cache.hpp"
#include "util/fs.hpp"

#include <algorithm>
#include <ctime>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln::bake {

namespace fs = std::filesystem;

namespace {

int64_t mtime_of(const fs::path& path)
{
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_mtime : 0;
}

uint64_t disk_usage(const fs::path& path)
{
  uint64_t total = 0;
  std::error_code ec;
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0)
    total += static_cast<uint64_t>(st.st_blocks) * 512;
  if (!fs::is_directory(fs::symlink_status(path)))
    return total;
  for (auto it = fs::recursive_directory_iterator(path, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (::lstat(it->path().c_str(), &st) == 0)
      total += static_cast<uint64_t>(st.st_blocks) * 512;
  }
  return total;
}

std::string lock_name(const CacheEntry& e)
{
  if (e.kind == "layer")
    return e.key;
  if (e.kind == "packages")
    return "";
  return e.kind + "-" + e.key;
}

// Takes the entry's lock exclusively, without waiting; -1 when a build holds it.
int lock_exclusive(const fs::path& cache_dir, const CacheEntry& e)
{
  fs::path file = e.kind == "packages"
                      ? cache::at(cache_dir, cache::kDebs) / ".lock"
                      : cache::at(cache_dir, cache::kLocks) / (lock_name(e) + ".lock");
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd >= 0 && ::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void add_layers(const fs::path& cache_dir, std::vector<CacheEntry>& entries)
{
  std::error_code ec;
  for (const auto& dir : fs::directory_iterator(cache::at(cache_dir, cache::kLayers), ec)) {
    if (dir.path().filename().string().rfind(".tmp-", 0) == 0)
      continue;
    auto meta = read_layer_meta(dir.path() / "meta.json");
    if (!meta)
      continue;
    entries.push_back({"layer", meta->key, meta->image, meta->step, meta->size, meta->created,
                       meta->last_used, false, dir.path()});
  }
}

void add_exports(const fs::path& cache_dir, std::vector<CacheEntry>& entries)
{
  std::error_code ec;
  for (const auto& dir : fs::directory_iterator(cache::at(cache_dir, cache::kExports), ec)) {
    std::string key = dir.path().filename().string();
    if (key.rfind(".tmp-", 0) == 0)
      continue;
    int64_t used = mtime_of(dir.path() / "result.json");
    std::string files;
    if (auto exported = read_export(dir.path())) {
      for (const auto& output : exported->outputs)
        files += (files.empty() ? "" : ", ") + output.file;
    }
    entries.push_back({"export", key, "", files.empty() ? "(damaged)" : files,
                       disk_usage(dir.path()), used, used, false, dir.path()});
  }
}

void add_downloads(const fs::path& cache_dir, std::vector<CacheEntry>& entries)
{
  std::error_code ec;
  for (const auto& file : fs::directory_iterator(cache::at(cache_dir, cache::kArtifacts), ec)) {
    std::string key = file.path().filename().string();
    if (key.find(".partial") != std::string::npos)
      continue;
    int64_t used = mtime_of(file.path());
    entries.push_back(
        {"artifact", key, "", "", disk_usage(file.path()), used, used, false, file.path()});
  }
  fs::path debs = cache::at(cache_dir, cache::kDebs);
  uint64_t size = disk_usage(debs);
  if (size > 8192) {
    int64_t used = mtime_of(debs / "SHA256SUMS");
    entries.push_back(
        {"packages", "debs", "", "downloaded .deb files", size, used, used, false, debs});
  }
}

// Published images pulled for a base: each is pulled again when next needed.
void add_images(const fs::path& cache_dir, std::vector<CacheEntry>& entries)
{
  std::error_code ec;
  for (const auto& dir : fs::directory_iterator(cache::at(cache_dir, cache::kImages), ec)) {
    std::string key = dir.path().filename().string();
    if (key.find(".pulling-") != std::string::npos)
      continue;
    int64_t used = mtime_of(dir.path());
    entries.push_back({"image", key, key.substr(0, key.find('@')), "pulled for a base",
                       disk_usage(dir.path()), used, used, false, dir.path()});
  }
}

// What kiln remembers to avoid work (tree_memo's answers, digest_memo's digests): one entry, as
// it is cheap to lose and made again on use.
void add_memos(const fs::path& cache_dir, std::vector<CacheEntry>& entries)
{
  fs::path answers = cache::at(cache_dir, cache::kAnswers);
  fs::path digests = cache::at(cache_dir, cache::kDigests);
  std::error_code ec;
  bool answered = fs::is_directory(answers, ec) && !fs::is_empty(answers, ec);
  if (!answered && !fs::exists(digests, ec))
    return;
  uint64_t size = disk_usage(answers) + disk_usage(digests);
  int64_t used = std::max(mtime_of(answers), mtime_of(digests));
  entries.push_back({"memo", "memo", "", "test results, tool versions, file digests", size, used,
                     used, false, answers});
}

Status remove_entry(const fs::path& cache_dir, const CacheEntry& e)
{
  if (e.kind == "memo") {
    std::error_code ec;
    for (const auto& file : fs::directory_iterator(e.path, ec))
      fs::remove(file.path(), ec); // each answer is written whole or not at all
    fs::remove(cache::at(cache_dir, cache::kDigests), ec);
    return ok_status();
  }
  if (e.kind == "packages") {
    std::error_code ec;
    for (const auto& file : fs::directory_iterator(e.path, ec)) {
      std::string name = file.path().filename().string();
      if (name != ".lock" && name != "partial")
        fs::remove_all(file.path(), ec);
    }
    return ok_status();
  }
  // Renamed out of the way first, so that no build ever finds half an entry under its key.
  fs::path doomed = cache::scratch(cache_dir, "pruned-" + e.kind + "-" + e.key.substr(0, 16));
  if (::rename(e.path.c_str(), doomed.c_str()) != 0)
    return errno_error("cannot remove", e.path.string(), errno);
  return util::remove_tree(doomed);
}

} // namespace

Expected<std::vector<CacheEntry>> list_cache(const fs::path& cache_dir)
{
  if (!fs::exists(cache::at(cache_dir, cache::kVersionFile)))
    return std::vector<CacheEntry>{};
  std::vector<CacheEntry> entries;
  add_layers(cache_dir, entries);
  add_exports(cache_dir, entries);
  add_memos(cache_dir, entries);
  add_downloads(cache_dir, entries);
  add_images(cache_dir, entries);
  for (auto& e : entries) {
    int fd = lock_exclusive(cache_dir, e);
    e.in_use = fd < 0;
    if (fd >= 0)
      ::close(fd);
  }
  std::sort(entries.begin(), entries.end(),
            [](const CacheEntry& a, const CacheEntry& b) { return a.last_used > b.last_used; });
  return entries;
}

Expected<PruneResult> prune_cache(const fs::path& cache_dir, const PruneLimits& limits,
                                  bool dry_run)
{
  auto entries = list_cache(cache_dir);
  if (!entries)
    return std::move(entries).error();
  PruneResult result;
  for (const auto& e : *entries)
    result.left += e.size;
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  // Oldest use first.
  for (auto it = entries->rbegin(); it != entries->rend(); ++it) {
    const CacheEntry& e = *it;
    bool too_old = limits.older_than && now - e.last_used > *limits.older_than;
    bool too_big = limits.max_size && result.left > *limits.max_size;
    if (!too_old && !too_big)
      continue;
    int fd = lock_exclusive(cache_dir, e);
    if (fd < 0) {
      result.skipped_in_use.push_back(e);
      continue;
    }
    Status removed = dry_run ? ok_status() : remove_entry(cache_dir, e);
    ::close(fd);
    if (!removed)
      return std::move(removed).error();
    result.removed.push_back(e);
    result.freed += e.size;
    result.left -= e.size;
  }
  return result;
}

} // namespace kiln::bake
