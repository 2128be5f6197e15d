#include "bake/remote_cache.hpp"

#include "bake/layer_archive.hpp"
#include "sandbox/unpack.hpp"
#include "store/chunks.hpp"
#include "store/metered.hpp"
#include "store/open.hpp"
#include "util/chunker.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/zstd.hpp"

#include <ctime>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_set>

namespace kiln::bake {

namespace fs = std::filesystem;

namespace {

Status check_key_file(const fs::path& file, const char* setting, const char* what)
{
  if (file.empty())
    return make_error(ExitCode::usage, std::string("the shared cache needs ") + what,
                      std::string("set ") + setting + " in kiln.yaml (or its flag)");
  if (!fs::exists(file))
    return make_error(ExitCode::usage, std::string(what) + " " + file.string() + " does not exist",
                      std::string("check ") + setting);
  return ok_status();
}

} // namespace

Expected<std::string> read_shared_secret_key(const fs::path& file)
{
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return errno_error("cannot read the cache's secret key", file.string(), errno, ExitCode::usage);
  struct stat st {};
  int fstat_result = ::fstat(fd, &st);
  ::close(fd);
  if (fstat_result != 0 || !S_ISREG(st.st_mode))
    return make_error(ExitCode::usage,
                      "the cache's secret key " + file.string() + " is not a regular file");
  if ((st.st_mode & 077) != 0 || (st.st_uid != 0 && st.st_uid != ::geteuid()))
    return make_error(ExitCode::usage,
                      "the cache's secret key " + file.string() +
                          " can be read or written by others than its owner",
                      "chown root " + file.string() + " && chmod 600 " + file.string());
  auto key = util::read_file_bounded(file, 4096, "a secret key");
  if (!key)
    return std::move(key).error();
  if (key->size() < 32)
    return make_error(ExitCode::usage,
                      "the cache's secret key " + file.string() + " is shorter than 32 bytes",
                      "make one with: head -c 32 /dev/urandom > " + file.string());
  return key;
}

Expected<std::unique_ptr<RemoteCache>> RemoteCache::open(const SharedCacheOptions& options,
                                                         const store::RemoteOptions& remote,
                                                         const fs::path& scratch)
{
  if (!options.from.empty())
    KILN_TRY(check_key_file(options.public_key, "signing.public_key",
                            "a public key that its layers are signed with"));
  if (!options.to.empty())
    KILN_TRY(check_key_file(options.signing_key, "signing.key",
                            "a signing key for the layers it uploads"));
  std::unique_ptr<RemoteCache> cache(new RemoteCache(options, scratch));
  // A store that cannot be reached costs the build its shared layers, not the build itself.
  if (!options.from.empty()) {
    auto from = store::open_store(options.from, store::OpenMode::existing, remote);
    if (from)
      cache->from_ = std::make_unique<store::MeteredStore>(std::move(*from));
    else
      cache->problems_.push_back("the shared cache " + options.from +
                                 " is not used: " + from.error().message);
  }
  if (!options.to.empty()) {
    auto to = store::open_store(options.to, store::OpenMode::create, remote);
    if (to) {
      cache->to_ = std::move(*to);
      cache->worker_ = std::thread([raw = cache.get()] { raw->work(); });
    } else {
      cache->problems_.push_back("no layer is uploaded to " + options.to + ": " +
                                 to.error().message);
    }
  }
  return cache;
}

RemoteCache::~RemoteCache()
{
  (void)finish();
}

std::optional<store::SharedLayer> RemoteCache::find(const std::string& key, std::string* problem)
{
  if (!from_)
    return std::nullopt;
  auto layer = store::read_shared_layer(*from_, key, options_.public_key);
  if (!layer) {
    if (problem)
      *problem = "the shared cache " + options_.from + ": " + layer.error().message;
    return std::nullopt;
  }
  return std::move(*layer);
}

// The chunks of `layer`'s archive that an earlier layer of the same step on this machine holds
// too (the files that did not change), made from that layer's own archive: what need not be read.
std::unordered_map<std::string, std::string>
RemoteCache::chunks_at_hand(const store::SharedLayer& layer, const fs::path& earlier)
{
  std::unordered_map<std::string, std::string> found;
  std::unordered_set<std::string> wanted;
  for (const auto& chunk : layer.archive.chunks)
    wanted.insert(chunk.digest);
  fs::path tar = scratch_ / ("earlier-" + layer.key.substr(0, 16) + ".tar");
  auto archive = write_layer_archive(earlier, tar);
  if (archive && archive->unshareable.empty()) {
    (void)util::chunk_file(tar, [&](std::string_view chunk) {
      std::string digest = util::sha256_hex(chunk);
      if (wanted.count(digest) && !found.count(digest))
        found.emplace(digest, util::zstd_compress(chunk));
      return ok_status();
    });
  }
  std::error_code ec;
  fs::remove(tar, ec);
  return found;
}

Status RemoteCache::fetch(const store::SharedLayer& layer, const fs::path& tree,
                          const fs::path& earlier, util::ProcessObserver* log, FetchReport* report)
{
  auto* metered = static_cast<store::MeteredStore*>(from_.get());
  uint64_t before = metered->bytes_received();
  KILN_TRY(util::make_dirs(scratch_));
  std::unordered_map<std::string, std::string> at_hand;
  if (!earlier.empty())
    at_hand = chunks_at_hand(layer, earlier);
  if (report) {
    report->chunks = layer.archive.chunks.size();
    report->chunks_at_hand = 0;
    for (const auto& chunk : layer.archive.chunks)
      report->chunks_at_hand += at_hand.count(chunk.digest);
  }
  metered->set_at_hand(std::move(at_hand));
  fs::path archive = scratch_ / (layer.key.substr(0, 16) + ".tar");
  Status done = store::get_file(*from_, layer.archive, archive);
  metered->set_at_hand({});
  if (done)
    done = sandbox::extract_confined(archive, tree, 0, true, log);
  std::error_code ec;
  fs::remove(archive, ec);
  if (report)
    report->bytes = metered->bytes_received() - before;
  KILN_TRY(std::move(done));
  return restore_specials(tree, layer.specials);
}

void RemoteCache::push(const LayerMeta& meta, const fs::path& tree)
{
  if (!to_)
    return;
  std::lock_guard lock(mutex_);
  jobs_.push_back({meta, tree});
  wake_.notify_one();
}

PushReport RemoteCache::finish()
{
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
    wake_.notify_one();
  }
  if (worker_.joinable())
    worker_.join();
  (void)util::remove_tree(scratch_);
  return report_;
}

void RemoteCache::work()
{
  while (true) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return closing_ || !jobs_.empty(); });
      if (jobs_.empty())
        return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    Status uploaded = upload(job);
    if (!uploaded) {
      std::lock_guard lock(mutex_);
      report_.notes.push_back("layer " + job.meta.key.substr(0, 12) + " (" + job.meta.step +
                              ") not uploaded: " + uploaded.error().message);
    }
  }
}

Status RemoteCache::upload(const Job& job)
{
  auto existing = to_->get_document(store::kSharedLayersPrefix + job.meta.key);
  if (!existing)
    return std::move(existing).error();
  if (*existing) {
    std::lock_guard lock(mutex_);
    ++report_.present;
    return ok_status();
  }
  KILN_TRY(util::make_dirs(scratch_));
  fs::path tar = scratch_ / ("push-" + job.meta.key.substr(0, 16) + ".tar");
  auto archive = write_layer_archive(job.tree, tar);
  auto remove_tar = [&tar] {
    std::error_code ec;
    fs::remove(tar, ec);
  };
  if (!archive) {
    remove_tar();
    return std::move(archive).error();
  }
  if (!archive->unshareable.empty()) {
    remove_tar();
    return make_error(ExitCode::build_failed, "it cannot be shared: " + archive->unshareable);
  }
  store::SharedLayer layer;
  layer.key = job.meta.key;
  layer.digest = job.meta.digest;
  layer.specials = archive->specials;
  layer.meta = {{"image", job.meta.image},
                {"step", job.meta.step},
                {"kind", job.meta.kind},
                {"inputs", job.meta.inputs},
                {"source_date_epoch", job.meta.source_date_epoch}};
  layer.created = static_cast<int64_t>(std::time(nullptr));
  auto lock = to_->lock(store::Access::shared); // no gc between the chunks and the document
  if (!lock) {
    remove_tar();
    return std::move(lock).error();
  }
  auto stored = store::put_file(*to_, tar, store::Encoding::raw);
  remove_tar();
  if (!stored)
    return std::move(stored).error();
  layer.archive = *stored;
  KILN_TRY(to_->sync());
  auto document = store::shared_layer_document(layer, options_.signing_key);
  if (!document)
    return std::move(document).error();
  auto created = to_->create_document(store::kSharedLayersPrefix + layer.key, *document);
  if (!created)
    return std::move(created).error();
  std::lock_guard guard(mutex_);
  ++(*created ? report_.pushed : report_.present); // false: another machine was first
  report_.new_bytes += stored->new_blob_bytes;
  return ok_status();
}

} // namespace kiln::bake
