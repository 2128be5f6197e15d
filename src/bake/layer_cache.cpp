#include "bake/layer_cache.hpp"

#include "bake/cache_layout.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <csignal>
#include <ctime>
#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

namespace kiln::bake {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const char* kVersionText = "kiln-cache 1\n";

// Hashes what a layer is made of without reading file contents: every entry's path, type, mode,
// owner, size (not a folder's: it depends on the file system and on the folder's history, and a
// layer unpacked from the shared cache must measure the same), modification time (to the
// nanosecond), device number (overlayfs whiteouts), link target, and overlayfs' opaque mark. A
// truncated, removed, added or rewritten file changes it. Reading every byte of a multi-gigabyte
// layer on each use would cost more than the rebuild the cache saves; content is hashed where it is
// an input (files, scripts, artifacts).
Status digest_entry(const fs::path& path, const std::string& relative, util::Sha256& hash,
                    uint64_t& size)
{
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0)
    return errno_error("cannot read", path.string(), errno);
  char opaque[4] = {0};
  ssize_t opaque_len =
      S_ISDIR(st.st_mode) ? ::lgetxattr(path.c_str(), "trusted.overlay.opaque", opaque, 3) : -1;
  std::string record =
      relative + '\0' + std::to_string(st.st_mode) + ' ' + std::to_string(st.st_uid) + ' ' +
      std::to_string(st.st_gid) + ' ' + std::to_string(S_ISDIR(st.st_mode) ? 0 : st.st_size) + ' ' +
      std::to_string(st.st_mtim.tv_sec) + '.' + std::to_string(st.st_mtim.tv_nsec) + ' ' +
      std::to_string(st.st_rdev) + (opaque_len > 0 ? " opaque" : "") + '\0';
  if (S_ISLNK(st.st_mode)) {
    std::error_code ec;
    record += fs::read_symlink(path, ec).string() + '\0';
  }
  hash.update(record);
  size += static_cast<uint64_t>(st.st_blocks) * 512;
  if (!S_ISDIR(st.st_mode))
    return ok_status();
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(path, ec))
    names.push_back(entry.path().filename().string());
  if (ec)
    return errno_error("cannot list", path.string(), ec.value());
  std::sort(names.begin(), names.end());
  for (const auto& name : names)
    KILN_TRY(digest_entry(path / name, relative + "/" + name, hash, size));
  return ok_status();
}

json to_json(const LayerMeta& m)
{
  return {{"format", kCacheFormat},
          {"digest_format", kDigestFormat},
          {"key", m.key},
          {"digest", m.digest},
          {"image", m.image},
          {"step", m.step},
          {"kind", m.kind},
          {"inputs", m.inputs},
          {"created", m.created},
          {"size", m.size},
          {"source_date_epoch", m.source_date_epoch}};
}

int64_t now()
{
  return static_cast<int64_t>(std::time(nullptr));
}

// When a layer was last used: meta.json's modification time, touched on every use.
int64_t last_use(const fs::path& meta)
{
  struct stat st {};
  return ::stat(meta.c_str(), &st) == 0 ? st.st_mtime : 0;
}

// The PID at the end of a temporary name ("...-1234"), or 0.
pid_t owner_pid(const std::string& name)
{
  size_t dash = name.rfind('-');
  if (dash == std::string::npos)
    return 0;
  try {
    return static_cast<pid_t>(std::stol(name.substr(dash + 1)));
  } catch (...) {
    return 0;
  }
}

// Removes what builds that were killed (SIGKILL, power loss) left half-done. Such folders were
// never renamed into place, so no build can have used them.
void remove_leftovers(const fs::path& dir)
{
  for (std::string_view sub : {cache::kLayers, cache::kExports, cache::kTmp}) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(cache::at(dir, sub), ec)) {
      std::string name = entry.path().filename().string();
      bool temporary = sub == cache::kTmp || name.rfind(".tmp-", 0) == 0;
      pid_t pid = owner_pid(name);
      if (temporary && pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH)
        (void)util::remove_tree(entry.path());
    }
  }
}

} // namespace

Expected<std::string> layer_digest(const fs::path& tree, uint64_t* size)
{
  util::Sha256 hash;
  uint64_t total = 0;
  KILN_TRY(digest_entry(tree, ".", hash, total));
  if (size)
    *size = total;
  return hash.hex_digest();
}

Expected<LayerMeta> read_layer_meta(const fs::path& file)
{
  auto text = util::read_file(file);
  if (!text)
    return std::move(text).error();
  try {
    json j = json::parse(*text);
    LayerMeta m;
    m.key = j.at("key");
    m.digest = j.at("digest");
    m.image = j.value("image", "");
    m.step = j.value("step", "");
    m.kind = j.value("kind", "");
    m.inputs = j.value("inputs", json::object());
    m.created = j.value("created", int64_t{0});
    m.size = j.value("size", uint64_t{0});
    m.source_date_epoch = j.value("source_date_epoch", int64_t{0});
    m.digest_format = j.value("digest_format", 1);
    m.last_used = last_use(file);
    return m;
  } catch (const json::exception& e) {
    return make_error(ExitCode::build_failed, "damaged " + file.string() + ": " + e.what());
  }
}

Expected<LayerCache> LayerCache::open(const fs::path& dir)
{
  for (std::string_view sub : {cache::kLayers, cache::kExports, cache::kLocks, cache::kArtifacts,
                               cache::kDebs, cache::kTmp})
    KILN_TRY(util::make_dirs(cache::at(dir, sub)));
  fs::path version = cache::at(dir, cache::kVersionFile);
  auto text = util::read_file(version);
  if (!text) {
    KILN_TRY(util::write_file_atomic(version, kVersionText));
  } else if (*text != kVersionText) {
    return make_error(ExitCode::environment,
                      "the cache in " + dir.string() + " has another format (" +
                          std::string(util::trim_copy(*text)) + ")",
                      "use another --cache-dir, or remove that folder to start a new cache");
  }
  remove_leftovers(dir);
  return LayerCache(dir);
}

LayerCache::LayerCache(LayerCache&& other) noexcept
    : dir_(std::move(other.dir_)), locks_(std::move(other.locks_)),
      digests_(std::move(other.digests_))
{
  other.locks_.clear();
  other.digests_ = util::DigestMemo();
}

LayerCache::~LayerCache()
{
  digests_.save();
  for (int fd : locks_)
    ::close(fd);
}

bool LayerCache::hold(const std::string& key)
{
  int fd = ::open((cache::at(dir_, cache::kLocks) / (key + ".lock")).c_str(),
                  O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return false;
  if (::flock(fd, LOCK_SH) != 0) {
    ::close(fd);
    return false;
  }
  locks_.push_back(fd);
  return true;
}

std::optional<LayerMeta> LayerCache::find(const std::string& key, std::string* problem)
{
  fs::path entry = layers_dir() / key;
  if (!fs::exists(entry / "meta.json"))
    return std::nullopt;
  hold(key);
  // Looked at again under the lock: a prune may have removed it meanwhile.
  auto meta = read_layer_meta(entry / "meta.json");
  std::string why;
  if (meta && meta->digest_format != kDigestFormat) {
    if (problem)
      *problem = "cached layer " + key.substr(0, 12) +
                 " was measured by an earlier kiln; building it again";
    (void)remove(key);
    return std::nullopt;
  }
  if (meta) {
    auto digest = layer_digest(entry / "tree", nullptr);
    if (!digest)
      why = digest.error().message;
    else if (*digest != meta->digest)
      why = "its content no longer matches its digest";
  } else if (fs::exists(entry)) {
    why = meta.error().message;
  } else {
    return std::nullopt;
  }
  if (!why.empty()) {
    if (problem)
      *problem =
          "cached layer " + key.substr(0, 12) + " is damaged (" + why + "); building it again";
    (void)remove(key);
    return std::nullopt;
  }
  ::utimensat(AT_FDCWD, (entry / "meta.json").c_str(), nullptr, 0); // last use: now
  meta->last_used = now();
  return std::move(*meta);
}

std::optional<LayerMeta> LayerCache::previous(const std::string& image,
                                              const std::string& step) const
{
  std::optional<LayerMeta> newest;
  for (const auto& meta : list()) {
    if (meta.image == image && meta.step == step && (!newest || meta.created >= newest->created))
      newest = meta;
  }
  return newest;
}

Expected<PendingLayer> LayerCache::begin(const std::string& key)
{
  PendingLayer pending;
  pending.key = key;
  pending.dir = layers_dir() / (".tmp-" + key.substr(0, 16) + "-" + std::to_string(::getpid()));
  KILN_TRY(util::remove_tree(pending.dir));
  pending.tree = pending.dir / "tree";
  pending.work = pending.dir / "work";
  KILN_TRY(util::make_dirs(pending.tree));
  KILN_TRY(util::make_dirs(pending.work));
  hold(key);
  return pending;
}

Expected<LayerMeta> LayerCache::commit(PendingLayer& pending, LayerMeta meta)
{
  KILN_TRY(util::remove_tree(pending.work));
  auto digest = layer_digest(pending.tree, &meta.size);
  if (!digest)
    return std::move(digest).error();
  meta.key = pending.key;
  meta.digest = *digest;
  meta.created = now();
  meta.last_used = meta.created;
  KILN_TRY(util::write_file_atomic(pending.dir / "meta.json", to_json(meta).dump(2) + "\n"));
  fs::path final_dir = layers_dir() / pending.key;
  if (::rename(pending.dir.c_str(), final_dir.c_str()) != 0) {
    int err = errno;
    if (err != EEXIST && err != ENOTEMPTY)
      return errno_error("cannot store layer", final_dir.string(), err);
    // Another build stored this key first; both are built from the same inputs.
    discard(pending);
    auto theirs = read_layer_meta(final_dir / "meta.json");
    if (!theirs)
      return std::move(theirs).error();
    return *theirs;
  }
  return meta;
}

void LayerCache::discard(PendingLayer& pending)
{
  (void)util::remove_tree(pending.dir);
}

Status LayerCache::record_epoch(LayerMeta& meta, int64_t epoch)
{
  if (meta.source_date_epoch > 0)
    return ok_status();
  meta.source_date_epoch = epoch;
  return util::write_file_atomic(layers_dir() / meta.key / "meta.json",
                                 to_json(meta).dump(2) + "\n");
}

Status LayerCache::remove(const std::string& key)
{
  fs::path entry = layers_dir() / key;
  // Renamed away first, so that no reader ever sees half a layer under its key.
  fs::path doomed = cache::scratch(dir_, "removed-" + key.substr(0, 16));
  if (::rename(entry.c_str(), doomed.c_str()) != 0)
    return errno == ENOENT ? ok_status()
                           : errno_error("cannot remove layer", entry.string(), errno);
  return util::remove_tree(doomed);
}

Expected<std::string> LayerCache::hmac_key()
{
  fs::path file = cache::at(dir_, cache::kSecretKey);
  if (auto key = util::read_file(file); key && key->size() == 32)
    return *key;
  std::string key(32, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), 32) != 1)
    return make_error(ExitCode::environment, "cannot make a random key for " + file.string());
  fs::path tmp = file;
  tmp += ".tmp-" + std::to_string(::getpid());
  KILN_TRY(util::write_file_atomic(tmp, key, 0600));
  // link() never replaces: if another build made its key first, both use that one.
  if (::link(tmp.c_str(), file.c_str()) != 0 && errno != EEXIST) {
    int err = errno;
    fs::remove(tmp);
    return errno_error("cannot store", file.string(), err);
  }
  fs::remove(tmp);
  return util::read_file(file);
}

std::vector<LayerMeta> LayerCache::list() const
{
  std::vector<LayerMeta> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(layers_dir(), ec)) {
    if (entry.path().filename().string().rfind(".tmp-", 0) == 0)
      continue;
    if (auto meta = read_layer_meta(entry.path() / "meta.json"))
      found.push_back(std::move(*meta));
  }
  return found;
}

} // namespace kiln::bake
