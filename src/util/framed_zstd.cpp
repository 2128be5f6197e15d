#include "util/framed_zstd.hpp"

#include "util/parallel.hpp"
#include "util/zstd.hpp"

#include <thread>
#include <zstd.h>

namespace kiln::util {

namespace {

constexpr size_t kBatch = 64; // chunks per batch: about 4 MiB of content

Expected<std::vector<std::string>> compress_all(std::vector<std::string> chunks, int level)
{
  std::vector<std::string> frames(chunks.size());
  size_t threads = std::max(1u, std::thread::hardware_concurrency());
  Status done = parallel_for(chunks.size(), threads, [&](size_t i) {
    thread_local std::optional<ZstdCompressor> compressor;
    thread_local int compressor_level = 0;
    if (!compressor || compressor_level != level) {
      compressor.emplace(level);
      compressor_level = level;
    }
    frames[i] = compressor->compress(chunks[i]);
    return ok_status();
  });
  if (!done)
    return std::move(done).error();
  return frames;
}

} // namespace

FramedZstdWriter::FramedZstdWriter(Sink sink, int level) : sink_(std::move(sink)), level_(level) {}

FramedZstdWriter::~FramedZstdWriter()
{
  if (running_.valid())
    running_.wait();
}

Status FramedZstdWriter::write(std::string_view data)
{
  pending_.append(data);
  // A chunk is cut only with a maximal chunk's worth ahead, as chunk_stream does, so the
  // boundaries are the ones the store would find in the same content.
  size_t start = 0;
  while (pending_.size() - start >= sizes_.max) {
    size_t length = next_chunk(std::string_view(pending_).substr(start), sizes_);
    batch_.emplace_back(pending_, start, length);
    start += length;
    if (batch_.size() == kBatch)
      KILN_TRY(flush(false));
  }
  pending_.erase(0, start);
  return ok_status();
}

Status FramedZstdWriter::flush(bool last)
{
  if (running_.valid()) {
    auto frames = running_.get();
    if (!frames)
      return std::move(frames).error();
    for (const auto& frame : *frames)
      KILN_TRY(sink_(frame));
  }
  if (batch_.empty())
    return ok_status();
  std::vector<std::string> chunks = std::move(batch_);
  batch_.clear();
  running_ = std::async(std::launch::async, compress_all, std::move(chunks), level_);
  return last ? flush(false) : ok_status();
}

Status FramedZstdWriter::finish()
{
  std::string_view rest(pending_);
  while (!rest.empty()) {
    size_t length = next_chunk(rest, sizes_);
    batch_.emplace_back(rest.substr(0, length));
    rest.remove_prefix(length);
  }
  pending_.clear();
  KILN_TRY(flush(true));
  return flush(false); // the batch started by the last call, if any
}

std::optional<std::vector<ZstdFrame>> small_frames(std::string_view data, size_t max_content)
{
  std::vector<ZstdFrame> frames;
  size_t offset = 0;
  while (offset < data.size()) {
    const char* at = data.data() + offset;
    size_t left = data.size() - offset;
    unsigned long long content = ZSTD_getFrameContentSize(at, left);
    if (content == ZSTD_CONTENTSIZE_ERROR || content == ZSTD_CONTENTSIZE_UNKNOWN ||
        content > max_content)
      return std::nullopt;
    size_t size = ZSTD_findFrameCompressedSize(at, left);
    if (ZSTD_isError(size) || size == 0)
      return std::nullopt;
    frames.push_back({offset, size, static_cast<size_t>(content)});
    offset += size;
  }
  if (frames.empty())
    return std::nullopt;
  return frames;
}

} // namespace kiln::util
