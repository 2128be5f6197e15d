#include "store/local/local_store.hpp"

#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace kiln::store {

namespace fs = std::filesystem;

namespace {

// Each migration takes the schema from level N-1 to N.
const char* kMigrations[] = {
    "CREATE TABLE documents (key TEXT PRIMARY KEY, content TEXT NOT NULL,"
    " updated INTEGER NOT NULL DEFAULT (unixepoch()));"
    "CREATE TABLE blobs (digest TEXT PRIMARY KEY, size INTEGER NOT NULL)",
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "INSERT INTO meta VALUES ('documents_created', (SELECT count(*) FROM documents))",
};

int64_t marker_count(const fs::path& file)
{
  auto j = util::read_json_file(file);
  if (!j || !j->is_object())
    return -1;
  return j->value("documents_created", int64_t{-1});
}

Status migrate(util::Database& db, const fs::path& root)
{
  auto level = db.user_version();
  if (!level)
    return std::move(level).error();
  if (*level > LocalStore::kSchemaVersion) {
    return make_error(ExitCode::environment,
                      "the store in " + root.string() + " has schema level " +
                          std::to_string(*level) + ", newer than this kiln knows (" +
                          std::to_string(LocalStore::kSchemaVersion) + ")",
                      "use a newer kiln for this store");
  }
  for (int64_t next = *level + 1; next <= LocalStore::kSchemaVersion; ++next) {
    KILN_TRY(db.execute("BEGIN IMMEDIATE"));
    // A second process may have migrated while this one waited for the lock.
    auto now = db.user_version();
    if (now && *now < next) {
      for (const auto& statement : util::split(kMigrations[next - 1], ';')) {
        if (auto done = db.execute(statement); !done) {
          (void)db.execute("ROLLBACK");
          return std::move(done).error();
        }
      }
      KILN_TRY(db.set_user_version(next));
    }
    KILN_TRY(db.execute("COMMIT"));
  }
  return ok_status();
}

} // namespace

Expected<std::unique_ptr<LocalStore>> LocalStore::open(const fs::path& root)
{
  // Every blob folder up front, so that writing a blob is one file and one rename.
  if (!fs::exists(root / "blobs" / "ff")) {
    for (int i = 0; i < 256; ++i) {
      char name[3];
      std::snprintf(name, sizeof name, "%02x", i);
      KILN_TRY(util::make_dirs(root / "blobs" / name));
    }
  }
  auto db = util::Database::open(root / "index.sqlite");
  if (!db)
    return std::move(db).error();
  KILN_TRY(migrate(*db, root));
  std::unique_ptr<LocalStore> store(new LocalStore(root, std::move(*db)));
  if (marker_count(root / kMarker) < 0) {
    // A store from before the marker, or a new one: the index says how much it holds.
    auto created = store->created_in_index();
    if (!created)
      return std::move(created).error();
    KILN_TRY(store->raise_marker(*created));
  }
  return store;
}

Expected<int64_t> LocalStore::created_in_index()
{
  auto rows = db_.query("SELECT value FROM meta WHERE key = 'documents_created'");
  if (!rows)
    return std::move(rows).error();
  return rows->empty() ? 0 : std::get<int64_t>((*rows)[0][0]);
}

Status LocalStore::raise_marker(int64_t created)
{
  fs::path file = root_ / kMarker;
  if (marker_count(file) >= created)
    return ok_status();
  nlohmann::json marker = {{"kiln_store", 1}, {"documents_created", created}};
  return util::write_file_atomic(file, marker.dump() + "\n");
}

Expected<std::optional<std::string>> LocalStore::index_loss()
{
  auto created = created_in_index();
  if (!created)
    return std::move(created).error();
  int64_t marked = marker_count(root_ / kMarker);
  if (marked <= *created)
    return std::optional<std::string>();
  return std::optional<std::string>(
      "the index " + (root_ / "index.sqlite").string() + " counts " + std::to_string(*created) +
      " documents ever created, but " + kMarker + " says " + std::to_string(marked) +
      ": the index was deleted, replaced or emptied, and the versions it listed are unknown");
}

namespace {

class FileLock : public StoreLock {
public:
  explicit FileLock(int fd) : fd_(fd) {}
  ~FileLock() override { ::close(fd_); }

private:
  int fd_;
};

} // namespace

Expected<std::unique_ptr<StoreLock>> LocalStore::lock(Access access)
{
  fs::path file = root_ / "lock";
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return errno_error("cannot open", file.string(), errno, ExitCode::environment);
  while (::flock(fd, access == Access::exclusive ? LOCK_EX : LOCK_SH) != 0) {
    if (errno != EINTR) {
      int err = errno;
      ::close(fd);
      return errno_error("cannot lock", file.string(), err, ExitCode::environment);
    }
  }
  return std::unique_ptr<StoreLock>(new FileLock(fd));
}

Expected<std::unordered_set<std::string>> LocalStore::read_index()
{
  auto rows = db_.query("SELECT digest FROM blobs");
  if (!rows)
    return std::move(rows).error();
  std::unordered_set<std::string> digests;
  for (const auto& row : *rows)
    digests.insert(std::get<std::string>(row[0]));
  return digests;
}

Expected<std::vector<std::string>> LocalStore::list_unindexed()
{
  auto indexed = read_index(); // now, not the snapshot has_blob keeps
  if (!indexed)
    return std::move(indexed).error();
  std::lock_guard lock(pending_mutex_);
  std::vector<std::string> names; // "AB/NAME" below blobs/
  std::error_code ec;
  for (const auto& entry : fs::recursive_directory_iterator(root_ / "blobs", ec)) {
    std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && !indexed->count(name) && !pending_.count(name))
      names.push_back(entry.path().parent_path().filename().string() + "/" + name);
  }
  if (ec)
    return make_error(ExitCode::environment,
                      "cannot list " + (root_ / "blobs").string() + ": " + ec.message());
  std::sort(names.begin(), names.end());
  return names;
}

Status LocalStore::remove_unindexed(const std::string& name)
{
  if (name.find("..") != std::string::npos || name.size() < 4 || name[2] != '/')
    return make_error(ExitCode::usage, "'" + name + "' is not a blob file's name");
  std::error_code ec;
  fs::remove(root_ / "blobs" / name, ec);
  if (ec)
    return make_error(ExitCode::environment, "cannot remove blobs/" + name + ": " + ec.message());
  return ok_status();
}

fs::path LocalStore::blob_path(const std::string& digest) const
{
  return root_ / "blobs" / digest.substr(0, 2) / digest;
}

Expected<bool> LocalStore::has_blob(const std::string& digest)
{
  KILN_TRY(check_digest(digest));
  std::lock_guard lock(pending_mutex_);
  if (pending_.count(digest))
    return true;
  // One query for the whole index rather than one a chunk: a publish asks for every chunk.
  if (!indexed_) {
    auto indexed = read_index();
    if (!indexed)
      return std::move(indexed).error();
    indexed_ = std::move(*indexed);
  }
  return indexed_->count(digest) > 0;
}

Status LocalStore::put_blob(const std::string& digest, std::string_view bytes)
{
  KILN_TRY(check_digest(digest));
  fs::path path = blob_path(digest);
  // The file now (temporary name, rename); the index at sync(), once the file is durable.
  KILN_TRY(util::write_file_replacing(path, bytes));
  std::lock_guard lock(pending_mutex_);
  pending_[digest] = static_cast<int64_t>(bytes.size());
  return ok_status();
}

Status LocalStore::sync()
{
  std::lock_guard lock(pending_mutex_);
  if (pending_.empty())
    return ok_status();
  KILN_TRY(util::sync_filesystem(root_ / "blobs"));
  KILN_TRY(db_.execute("BEGIN IMMEDIATE"));
  for (const auto& [digest, size] : pending_) {
    auto inserted = db_.execute(
        "INSERT INTO blobs (digest, size) VALUES (?1, ?2) ON CONFLICT DO NOTHING", {digest, size});
    if (!inserted) {
      (void)db_.execute("ROLLBACK");
      return std::move(inserted).error();
    }
  }
  KILN_TRY(db_.execute("COMMIT"));
  if (indexed_) {
    for (const auto& [digest, size] : pending_)
      indexed_->insert(digest);
  }
  pending_.clear();
  return ok_status();
}

Expected<std::string> LocalStore::get_blob(const std::string& digest)
{
  KILN_TRY(check_digest(digest));
  return util::read_file(blob_path(digest));
}

Status LocalStore::delete_blob(const std::string& digest)
{
  KILN_TRY(check_digest(digest));
  std::lock_guard lock(pending_mutex_);
  // The index first: a blob the index does not list may be removed or re-put at any time.
  KILN_TRY(db_.execute("DELETE FROM blobs WHERE digest = ?1", {digest}));
  pending_.erase(digest);
  if (indexed_)
    indexed_->erase(digest);
  std::error_code ec;
  fs::remove(blob_path(digest), ec);
  if (ec)
    return make_error(ExitCode::environment,
                      "cannot remove " + blob_path(digest).string() + ": " + ec.message());
  return ok_status();
}

Expected<std::vector<BlobEntry>> LocalStore::list_blobs()
{
  std::lock_guard lock(pending_mutex_);
  auto rows = db_.query("SELECT digest, size FROM blobs");
  if (!rows)
    return std::move(rows).error();
  std::map<std::string, int64_t> sizes = pending_;
  for (const auto& row : *rows)
    sizes.emplace(std::get<std::string>(row[0]), std::get<int64_t>(row[1]));
  std::vector<BlobEntry> entries;
  for (const auto& [digest, size] : sizes)
    entries.push_back({digest, size});
  return entries;
}

Expected<std::optional<std::string>> LocalStore::get_document(const std::string& key)
{
  auto rows = db_.query("SELECT content FROM documents WHERE key = ?1", {key});
  if (!rows)
    return std::move(rows).error();
  if (rows->empty())
    return std::optional<std::string>();
  return std::optional<std::string>(std::get<std::string>(rows->front()[0]));
}

Expected<bool> LocalStore::create_document(const std::string& key, std::string_view content)
{
  KILN_TRY(db_.execute("BEGIN IMMEDIATE"));
  auto changed =
      db_.execute("INSERT INTO documents (key, content) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                  {key, std::string(content)});
  bool created = changed && *changed == 1;
  if (created) {
    auto counted = db_.execute("UPDATE meta SET value = value + 1 WHERE key = 'documents_created'");
    if (!counted)
      changed = std::move(counted);
  }
  if (!changed) {
    (void)db_.execute("ROLLBACK");
    return std::move(changed).error();
  }
  KILN_TRY(db_.execute("COMMIT"));
  if (!created)
    return false;
  auto count = created_in_index();
  if (!count)
    return std::move(count).error();
  KILN_TRY(raise_marker(*count));
  return true;
}

Expected<bool> LocalStore::replace_document(const std::string& key,
                                            const std::optional<std::string>& expected,
                                            std::string_view content)
{
  if (!expected)
    return create_document(key, content);
  auto changed = db_.execute("UPDATE documents SET content = ?2, updated = unixepoch()"
                             " WHERE key = ?1 AND content = ?3",
                             {key, std::string(content), *expected});
  if (!changed)
    return std::move(changed).error();
  return *changed == 1;
}

Status LocalStore::delete_document(const std::string& key)
{
  KILN_TRY(db_.execute("DELETE FROM documents WHERE key = ?1", {key}));
  return ok_status();
}

Expected<std::vector<std::string>> LocalStore::list_documents(const std::string& prefix)
{
  // substr rather than LIKE: keys may hold '%' and '_'.
  auto rows = db_.query("SELECT key FROM documents WHERE substr(key, 1, ?2) = ?1 ORDER BY key",
                        {prefix, static_cast<int64_t>(prefix.size())});
  if (!rows)
    return std::move(rows).error();
  std::vector<std::string> keys;
  for (const auto& row : *rows)
    keys.push_back(std::get<std::string>(row[0]));
  return keys;
}

Expected<std::unique_ptr<Store>> open_local_store(const std::string& path, OpenMode mode)
{
  if (path.empty())
    return make_error(ExitCode::usage, "the store location is empty");
  if (mode == OpenMode::existing && !fs::exists(fs::path(path) / LocalStore::kMarker) &&
      !fs::exists(fs::path(path) / "index.sqlite"))
    return make_error(ExitCode::input, "there is no kiln store at " + path,
                      "check --store, KILN_STORE or kiln.yaml; `kiln publish` creates the store "
                      "with its first version, `kiln store init` an empty one");
  auto store = LocalStore::open(path);
  if (!store)
    return std::move(store).error();
  return std::unique_ptr<Store>(std::move(*store));
}

} // namespace kiln::store
