#include "store/chunks.hpp"

#include "util/chunker.hpp"
#include "util/framed_zstd.hpp"
#include "util/hash.hpp"
#include "util/interrupt.hpp"
#include "util/zstd.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <fcntl.h>
#include <fstream>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <sys/mman.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace kiln::store {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Compresses and stores new chunks on worker threads, one per core, while the caller reads and
// splits the file. At most a few chunks wait, so memory stays small whatever the file's size.
class BlobWriter {
public:
  explicit BlobWriter(Store& store) : store_(store)
  {
    unsigned workers = std::max(1u, std::thread::hardware_concurrency());
    limit_ = 4 * workers;
    for (unsigned i = 0; i < workers; ++i)
      threads_.emplace_back([this] { work(); });
  }
  ~BlobWriter() { (void)finish(); }

  // Queues a copy of the chunk (compressed by a worker, or stored as it is: a zstd frame);
  // fails (and stops taking work) once a worker has failed.
  Status add(const std::string& digest, std::string_view chunk, bool as_is = false)
  {
    std::unique_lock lock(mutex_);
    not_full_.wait(lock, [&] { return queue_.size() < limit_ || error_; });
    if (error_)
      return *error_;
    queue_.push_back({digest, std::string(chunk), as_is});
    not_empty_.notify_one();
    return ok_status();
  }

  // Waits for the queued chunks; the first error, if any.
  Status finish()
  {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    not_empty_.notify_all();
    for (auto& thread : threads_)
      thread.join();
    threads_.clear();
    if (error_)
      return *error_;
    return ok_status();
  }

  uint64_t blobs = 0, bytes = 0; // stored so far; read after finish()

private:
  struct Job {
    std::string digest, chunk;
    bool as_is = false;
  };

  void work()
  {
    util::ZstdCompressor compressor;
    for (;;) {
      Job job;
      {
        std::unique_lock lock(mutex_);
        not_empty_.wait(lock, [&] { return !queue_.empty() || closed_ || error_; });
        if (queue_.empty() || error_)
          return;
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      not_full_.notify_one();
      std::string compressed = job.as_is ? std::move(job.chunk) : compressor.compress(job.chunk);
      Status put = store_.put_blob(job.digest, compressed);
      std::lock_guard lock(mutex_);
      if (put) {
        ++blobs;
        bytes += compressed.size();
      } else if (!error_) {
        error_ = std::move(put).error();
        not_full_.notify_all();
        not_empty_.notify_all();
      }
    }
  }

  Store& store_;
  std::mutex mutex_;
  std::condition_variable not_empty_, not_full_;
  std::deque<Job> queue_;
  size_t limit_ = 0;
  bool closed_ = false;
  std::optional<Error> error_;
  std::vector<std::thread> threads_;
};

// Splits the file (or its decompressed content) and hands each chunk to `chunk`.
Status read_chunks(const fs::path& file, Encoding encoding, util::Sha256& file_hash,
                   const std::function<Status(std::string_view)>& chunk)
{
  if (encoding == Encoding::raw) {
    return util::chunk_file(file, [&](std::string_view data) {
      file_hash.update(data);
      return chunk(data);
    });
  }
  auto reader = util::ZstdReader::open(file, &file_hash);
  if (!reader)
    return std::move(reader).error();
  return util::chunk_stream(
      [&](char* buffer, size_t capacity) { return (*reader)->read(buffer, capacity); }, chunk);
}

// Where a chunk sits, for messages.
std::string chunk_name(const std::string& file, size_t index, const ChunkRef& ref)
{
  return "chunk " + std::to_string(index + 1) + " of " + file + " (blob " + ref.digest + ")";
}

// A blob's chunk: decompressed (to `size` bytes, or to the size its frame records) and checked
// against the digest that names it; `where` names it in errors.
Expected<std::string> unpack(const std::string& blob, const std::string& digest,
                             std::optional<uint64_t> size, const std::string& where)
{
  auto chunk = size ? util::zstd_decompress(blob, *size)
                    : util::zstd_decompress_frame(blob, 16 * util::ChunkSizes{}.max);
  if (!chunk)
    return make_error(ExitCode::input, where + " is damaged: " + chunk.error().message);
  if (util::sha256_hex(*chunk) != digest)
    return make_error(ExitCode::input,
                      where + " is damaged: its content does not match its digest");
  return chunk;
}

// The chunks of a file are read in windows of this many, each window fetched while the one
// before is checked and written: a remote store reads a window in a few ranged requests.
constexpr size_t kWindow = 512;

// Reads chunks [first, first + count) of `stored` from the store, as stored (compressed).
Expected<std::vector<std::string>> read_window(Store& store, const StoredFile& stored, size_t first,
                                               const std::string& name)
{
  std::vector<std::string> digests;
  size_t end = std::min(stored.chunks.size(), first + kWindow);
  for (size_t i = first; i < end; ++i)
    digests.push_back(stored.chunks[i].digest);
  auto blobs = store.get_blobs(digests);
  if (!blobs) {
    // Which chunk: asked one by one (only on this failure path), the first that fails is named.
    for (size_t i = first; i < end; ++i) {
      if (auto one = store.get_blob(stored.chunks[i].digest); !one)
        return make_error(ExitCode::input, chunk_name(name, i, stored.chunks[i]) +
                                               " cannot be read: " + one.error().message);
    }
    return make_error(ExitCode::input,
                      "chunks of " + name + " cannot be read: " + blobs.error().message);
  }
  if (blobs->size() != digests.size())
    return make_error(ExitCode::input,
                      "the store gave back fewer chunks of " + name + " than asked");
  return blobs;
}

} // namespace

namespace {

// The file mapped into memory, read-only.
class Mapped {
public:
  static Expected<Mapped> open(const fs::path& file)
  {
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return errno_error("cannot open", file.string(), errno, ExitCode::input);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      ::close(fd);
      return errno_error("cannot read", file.string(), errno, ExitCode::input);
    }
    Mapped m;
    m.size_ = static_cast<size_t>(st.st_size);
    if (m.size_ > 0) {
      void* at = ::mmap(nullptr, m.size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (at == MAP_FAILED) {
        ::close(fd);
        return errno_error("cannot map", file.string(), errno, ExitCode::input);
      }
      m.data_ = static_cast<const char*>(at);
    }
    ::close(fd);
    return m;
  }
  Mapped(Mapped&& other) noexcept : data_(other.data_), size_(other.size_)
  {
    other.data_ = nullptr;
  }
  Mapped& operator=(Mapped&&) = delete;
  ~Mapped()
  {
    if (data_)
      ::munmap(const_cast<char*>(data_), size_);
  }
  std::string_view bytes() const { return {data_ ? data_ : "", size_}; }

private:
  Mapped() = default;
  const char* data_ = nullptr;
  size_t size_ = 0;
};

// A .zst written as one frame per chunk (util/framed_zstd.hpp): each frame is a blob as it is,
// named by the sha256 of its bytes. nullopt when the file is not made that way.
Expected<std::optional<StoredFile>> put_frames(Store& store, const fs::path& file)
{
  auto mapped = Mapped::open(file);
  if (!mapped)
    return std::move(mapped).error();
  std::string_view data = mapped->bytes();
  auto frames = util::small_frames(data, util::ChunkSizes{}.max);
  if (!frames)
    return std::optional<StoredFile>();
  StoredFile stored;
  stored.encoding = Encoding::frames;
  util::Sha256 file_hash;
  std::set<std::string> queued;
  BlobWriter writer(store);
  Status added = ok_status();
  for (const auto& frame : *frames) {
    if (util::interrupt_signal() != 0) {
      added = make_error(ExitCode::interrupted, "storing " + file.string() + " interrupted");
      break;
    }
    std::string_view bytes = data.substr(frame.offset, frame.size);
    file_hash.update(bytes.data(), bytes.size());
    ChunkRef ref{util::sha256_hex(bytes), bytes.size()};
    if (!queued.count(ref.digest)) {
      auto present = store.has_blob(ref.digest);
      if (!present) {
        added = std::move(present).error();
        break;
      }
      if (!*present) {
        if (added = writer.add(ref.digest, bytes, true); !added)
          break;
        queued.insert(ref.digest);
      }
    }
    stored.chunks.push_back(std::move(ref));
  }
  Status written = writer.finish();
  KILN_TRY(std::move(added));
  KILN_TRY(std::move(written));
  stored.sha256 = stored.content_sha256 = file_hash.hex_digest();
  stored.size = stored.content_size = data.size();
  stored.new_blobs = writer.blobs;
  stored.new_blob_bytes = writer.bytes;
  return std::optional<StoredFile>(std::move(stored));
}

} // namespace

Expected<StoredFile> put_file(Store& store, const fs::path& file, Encoding encoding)
{
  if (encoding == Encoding::zstd) {
    auto framed = put_frames(store, file);
    if (!framed)
      return std::move(framed).error();
    if (*framed)
      return std::move(**framed);
  }
  StoredFile stored;
  stored.encoding = encoding;
  util::Sha256 file_hash, content_hash;
  std::set<std::string> queued; // new in this file: a repeated chunk is stored once
  BlobWriter writer(store);
  Status chunked = read_chunks(file, encoding, file_hash, [&](std::string_view chunk) -> Status {
    if (util::interrupt_signal() != 0)
      return make_error(ExitCode::interrupted, "storing " + file.string() + " interrupted");
    if (encoding != Encoding::raw)
      content_hash.update(chunk);
    ChunkRef ref{util::sha256_hex(chunk), chunk.size()};
    if (!queued.count(ref.digest)) {
      auto present = store.has_blob(ref.digest);
      if (!present)
        return std::move(present).error();
      if (!*present) {
        KILN_TRY(writer.add(ref.digest, chunk));
        queued.insert(ref.digest);
      }
    }
    stored.content_size += chunk.size();
    stored.chunks.push_back(std::move(ref));
    return ok_status();
  });
  Status written = writer.finish();
  if (!chunked)
    return std::move(chunked).error();
  if (!written)
    return std::move(written).error();
  stored.sha256 = file_hash.hex_digest();
  stored.content_sha256 = encoding == Encoding::raw ? stored.sha256 : content_hash.hex_digest();
  std::error_code ec;
  stored.size = encoding == Encoding::raw ? stored.content_size : fs::file_size(file, ec);
  if (ec)
    return make_error(ExitCode::input, "cannot read the size of " + file.string());
  stored.new_blobs = writer.blobs;
  stored.new_blob_bytes = writer.bytes;
  return stored;
}

namespace {

// Writes the stored file to `target` (which may be /dev/null), checking every chunk, the content
// and the file; `name` names it in messages.
Status reassemble(Store& store, const StoredFile& stored, const std::string& name,
                  const fs::path& target)
{
  util::Sha256 file_hash, content_hash;
  std::ofstream raw;
  std::unique_ptr<util::ZstdWriter> compressed;
  if (stored.encoding == Encoding::zstd) {
    auto writer = util::ZstdWriter::create(target, &file_hash);
    if (!writer)
      return std::move(writer).error();
    compressed = std::move(*writer);
  } else {
    raw.open(target, std::ios::binary | std::ios::trunc);
    if (!raw)
      return make_error(ExitCode::environment, "cannot write " + target.string());
  }
  auto fetch = [&](size_t first) {
    return std::async(std::launch::async, [&store, &stored, first, &name] {
      return read_window(store, stored, first, name);
    });
  };
  std::future<Expected<std::vector<std::string>>> next;
  if (!stored.chunks.empty())
    next = fetch(0);
  for (size_t first = 0; first < stored.chunks.size(); first += kWindow) {
    auto window = next.get();
    if (!window)
      return std::move(window).error();
    if (first + kWindow < stored.chunks.size())
      next = fetch(first + kWindow);
    for (size_t j = 0; j < window->size(); ++j) {
      if (util::interrupt_signal() != 0) {
        if (next.valid())
          next.wait();
        return make_error(ExitCode::interrupted, "reading " + name + " interrupted");
      }
      size_t i = first + j;
      const ChunkRef& ref = stored.chunks[i];
      if (stored.encoding == Encoding::frames) { // a frame kept as it is: the file's own bytes
        const std::string& frame = (*window)[j];
        if (frame.size() != ref.size || util::sha256_hex(frame) != ref.digest) {
          if (next.valid())
            next.wait();
          return make_error(ExitCode::input, chunk_name(name, i, ref) +
                                                 " is damaged: its bytes do not match its digest");
        }
        content_hash.update(frame);
        raw.write(frame.data(), static_cast<std::streamsize>(frame.size()));
        continue;
      }
      auto chunk = unpack((*window)[j], ref.digest, ref.size, chunk_name(name, i, ref));
      if (!chunk) {
        if (next.valid())
          next.wait();
        return std::move(chunk).error();
      }
      content_hash.update(*chunk);
      if (compressed)
        KILN_TRY(compressed->write(*chunk));
      else
        raw.write(chunk->data(), static_cast<std::streamsize>(chunk->size()));
    }
  }
  if (compressed) {
    KILN_TRY(compressed->finish());
  } else {
    raw.close();
    if (!raw)
      return make_error(ExitCode::environment, "cannot write " + target.string());
  }
  std::string content = content_hash.hex_digest();
  if (content != stored.content_sha256)
    return make_error(ExitCode::input, name + " reassembled does not match its sha256");
  // A raw file is its content; a compressed one was hashed as it was written.
  if ((compressed ? file_hash.hex_digest() : content) != stored.sha256)
    return make_error(
        ExitCode::input, name + " compressed again does not match the published file's sha256",
        "this kiln's zstd writes other bytes than the publisher's did; the chunks themselves "
        "were intact");
  return ok_status();
}

} // namespace

Status get_file(Store& store, const StoredFile& stored, const fs::path& dest)
{
  fs::path temporary = dest.string() + ".partial-" + std::to_string(::getpid());
  Status done = reassemble(store, stored, dest.filename().string(), temporary);
  std::error_code ec;
  if (done)
    fs::rename(temporary, dest, ec);
  if (!done || ec)
    fs::remove(temporary, ec);
  if (!done)
    return done;
  if (ec)
    return make_error(ExitCode::environment,
                      "cannot rename " + temporary.string() + " to " + dest.string());
  return ok_status();
}

Status check_file(Store& store, const StoredFile& stored, const std::string& name)
{
  return reassemble(store, stored, name, "/dev/null");
}

Status check_blob(Store& store, const std::string& digest)
{
  auto blob = store.get_blob(digest);
  if (!blob)
    return make_error(ExitCode::input,
                      "blob " + digest + " cannot be read: " + blob.error().message);
  if (util::sha256_hex(*blob) == digest) // a zstd frame of a framed file, kept as it is
    return ok_status();
  auto chunk = unpack(*blob, digest, std::nullopt, "blob " + digest);
  if (!chunk)
    return std::move(chunk).error();
  return ok_status();
}

json to_json(const StoredFile& file)
{
  json chunks = json::array();
  for (const auto& c : file.chunks)
    chunks.push_back({c.digest, c.size});
  const char* encodings[] = {"raw", "zstd", "zstd-frames"};
  json j = {{"encoding", encodings[static_cast<int>(file.encoding)]},
            {"sha256", file.sha256},
            {"size", file.size},
            {"chunks", chunks}};
  if (file.encoding == Encoding::zstd) {
    j["content_sha256"] = file.content_sha256;
    j["content_size"] = file.content_size;
  }
  return j;
}

Expected<StoredFile> stored_file_from_json(const json& j)
{
  try {
    StoredFile file;
    std::string encoding = j.at("encoding");
    if (encoding != "raw" && encoding != "zstd" && encoding != "zstd-frames")
      return make_error(ExitCode::input, "unknown file encoding '" + encoding + "'");
    file.encoding = encoding == "zstd"          ? Encoding::zstd
                    : encoding == "zstd-frames" ? Encoding::frames
                                                : Encoding::raw;
    file.sha256 = j.at("sha256");
    file.size = j.at("size");
    file.content_sha256 = j.value("content_sha256", file.sha256);
    file.content_size = j.value("content_size", file.size);
    for (const auto& c : j.at("chunks"))
      file.chunks.push_back({c.at(0), c.at(1)});
    return file;
  } catch (const json::exception& e) {
    return make_error(ExitCode::input, std::string("malformed file entry: ") + e.what());
  }
}

} // namespace kiln::store
