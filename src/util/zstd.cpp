#include "util/zstd.hpp"

#include "util/hash.hpp"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>
#include <zstd.h>

namespace kiln::util {

namespace {

Status write_all(int fd, const char* data, size_t size, const std::filesystem::path& file)
{
  while (size > 0) {
    ssize_t written = ::write(fd, data, size);
    if (written < 0 && errno == EINTR)
      continue;
    if (written < 0)
      return errno_error("cannot write", file.string(), errno);
    data += written;
    size -= static_cast<size_t>(written);
  }
  return ok_status();
}

} // namespace

std::string zstd_compress(std::string_view data, int level)
{
  return ZstdCompressor(level).compress(data);
}

Expected<std::string> zstd_decompress(std::string_view data, size_t size)
{
  unsigned long long content = ZSTD_getFrameContentSize(data.data(), data.size());
  if (content == ZSTD_CONTENTSIZE_ERROR || content == ZSTD_CONTENTSIZE_UNKNOWN || content != size)
    return make_error(ExitCode::build_failed,
                      "not a zstd frame of " + std::to_string(size) + " bytes");
  std::string out(size, '\0');
  size_t written = ZSTD_decompress(out.data(), out.size(), data.data(), data.size());
  if (ZSTD_isError(written) || written != size)
    return make_error(ExitCode::build_failed,
                      std::string("damaged zstd data: ") +
                          (ZSTD_isError(written) ? ZSTD_getErrorName(written) : "short"));
  return out;
}

Expected<std::string> zstd_decompress_frame(std::string_view data, size_t limit)
{
  unsigned long long content = ZSTD_getFrameContentSize(data.data(), data.size());
  if (content == ZSTD_CONTENTSIZE_ERROR || content == ZSTD_CONTENTSIZE_UNKNOWN || content > limit)
    return make_error(ExitCode::build_failed,
                      "not a zstd frame of at most " + std::to_string(limit) + " bytes");
  return zstd_decompress(data, static_cast<size_t>(content));
}

ZstdCompressor::ZstdCompressor(int level) : ctx_(ZSTD_createCCtx(), ZSTD_freeCCtx), level_(level) {}

std::string ZstdCompressor::compress(std::string_view data)
{
  std::string out(ZSTD_compressBound(data.size()), '\0');
  size_t written =
      ZSTD_compressCCtx(ctx_.get(), out.data(), out.size(), data.data(), data.size(), level_);
  // With an output of ZSTD_compressBound bytes, compression cannot fail.
  out.resize(ZSTD_isError(written) ? 0 : written);
  return out;
}

Expected<std::unique_ptr<ZstdReader>> ZstdReader::open(const std::filesystem::path& file,
                                                       Sha256* compressed_hash)
{
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno_error("cannot open", file.string(), errno);
  return std::unique_ptr<ZstdReader>(new ZstdReader(file, fd, compressed_hash));
}

ZstdReader::ZstdReader(std::filesystem::path file, int fd, Sha256* hash)
    : file_(std::move(file)), fd_(fd), hash_(hash), ctx_(ZSTD_createDCtx(), ZSTD_freeDCtx),
      input_(ZSTD_DStreamInSize(), '\0')
{
  input_.resize(0);
}

ZstdReader::~ZstdReader()
{
  ::close(fd_);
}

Expected<size_t> ZstdReader::read(char* buffer, size_t capacity)
{
  ZSTD_outBuffer out{buffer, capacity, 0};
  for (;;) {
    if (input_pos_ == input_.size() && !input_end_) {
      input_.resize(ZSTD_DStreamInSize());
      ssize_t got = ::read(fd_, input_.data(), input_.size());
      if (got < 0 && errno == EINTR)
        continue;
      if (got < 0)
        return errno_error("cannot read", file_.string(), errno);
      input_.resize(static_cast<size_t>(got));
      input_pos_ = 0;
      input_end_ = got == 0;
      if (hash_)
        hash_->update(input_);
    }
    ZSTD_inBuffer in{input_.data(), input_.size(), input_pos_};
    size_t result = ZSTD_decompressStream(ctx_.get(), &out, &in);
    if (ZSTD_isError(result))
      return make_error(ExitCode::input,
                        file_.string() + " holds damaged zstd data: " + ZSTD_getErrorName(result));
    if (in.pos > input_pos_ || out.pos > 0)
      frame_open_ = result != 0; // 0: the frame so far is complete and flushed
    input_pos_ = in.pos;
    if (out.pos > 0)
      return out.pos;
    if (input_pos_ == input_.size() && input_end_) {
      if (frame_open_)
        return make_error(ExitCode::input,
                          file_.string() + " is cut short: its zstd data ends inside a frame");
      return size_t{0};
    }
  }
}

Expected<std::unique_ptr<ZstdWriter>> ZstdWriter::create(const std::filesystem::path& file,
                                                         Sha256* hash, int level, int workers)
{
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return errno_error("cannot create", file.string(), errno);
  std::unique_ptr<ZstdWriter> writer(new ZstdWriter(file, fd, hash));
  ZSTD_CCtx_setParameter(writer->ctx_.get(), ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(writer->ctx_.get(), ZSTD_c_nbWorkers, workers);
  return writer;
}

ZstdWriter::ZstdWriter(std::filesystem::path file, int fd, Sha256* hash)
    : file_(std::move(file)), fd_(fd), hash_(hash), ctx_(ZSTD_createCCtx(), ZSTD_freeCCtx),
      output_(ZSTD_CStreamOutSize(), '\0')
{
}

ZstdWriter::~ZstdWriter()
{
  if (fd_ >= 0)
    ::close(fd_);
}

Status ZstdWriter::write(std::string_view data)
{
  return drain(data, false);
}

Status ZstdWriter::finish()
{
  KILN_TRY(drain({}, true));
  int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0)
    return errno_error("cannot write", file_.string(), errno);
  return ok_status();
}

Status ZstdWriter::drain(std::string_view data, bool end)
{
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  for (;;) {
    ZSTD_outBuffer out{output_.data(), output_.size(), 0};
    size_t left = ZSTD_compressStream2(ctx_.get(), &out, &in, end ? ZSTD_e_end : ZSTD_e_continue);
    if (ZSTD_isError(left))
      return make_error(ExitCode::environment,
                        "cannot compress " + file_.string() + ": " + ZSTD_getErrorName(left));
    KILN_TRY(write_all(fd_, output_.data(), out.pos, file_));
    if (hash_)
      hash_->update(output_.data(), out.pos);
    if (end ? left == 0 : in.pos == in.size)
      return ok_status();
  }
}

} // namespace kiln::util
