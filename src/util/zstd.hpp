// zstd through libzstd: one-shot compression of small buffers (store chunks), and streams for
// whole files. Compression is deterministic for a given zstd version, level and (with worker
// threads) for any number of workers, so the same input compresses to the same bytes: the store
// keeps a rootfs tar uncompressed and recreates its .tar.zst byte for byte on pull.
#pragma once

#include "util/error.hpp"

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

struct ZSTD_CCtx_s;
struct ZSTD_DCtx_s;

namespace kiln::util {

class Sha256;

std::string zstd_compress(std::string_view data, int level = 3);

// Fails when `data` is not one whole zstd frame or does not hold exactly `size` bytes.
Expected<std::string> zstd_decompress(std::string_view data, size_t size);
// The same for a frame of any size up to `limit` bytes, read from its header.
Expected<std::string> zstd_decompress_frame(std::string_view data, size_t limit);

// One-shot compression reusing its context: for many chunks in one thread.
class ZstdCompressor {
public:
  explicit ZstdCompressor(int level = 3);
  std::string compress(std::string_view data);

private:
  std::unique_ptr<ZSTD_CCtx_s, size_t (*)(ZSTD_CCtx_s*)> ctx_;
  int level_;
};

// Reads a .zst file as its decompressed bytes; `compressed_hash`, when given, sees every byte of
// the file itself.
class ZstdReader {
public:
  static Expected<std::unique_ptr<ZstdReader>> open(const std::filesystem::path& file,
                                                    Sha256* compressed_hash = nullptr);
  ~ZstdReader();
  // Fills up to `capacity` bytes; 0 at the end of the data. Fails on a damaged or cut file.
  Expected<size_t> read(char* buffer, size_t capacity);

private:
  ZstdReader(std::filesystem::path file, int fd, Sha256* hash);
  std::filesystem::path file_;
  int fd_;
  Sha256* hash_;
  std::unique_ptr<ZSTD_DCtx_s, size_t (*)(ZSTD_DCtx_s*)> ctx_;
  std::string input_;
  size_t input_pos_ = 0;
  bool input_end_ = false;
  bool frame_open_ = true; // until a whole frame has been read
};

// Writes a .zst file: level 3 with worker threads, the way kiln's rootfs tars are written.
class ZstdWriter {
public:
  // `hash`, when given, sees every byte written to the file.
  static Expected<std::unique_ptr<ZstdWriter>>
  create(const std::filesystem::path& file, Sha256* hash = nullptr, int level = 3, int workers = 2);
  ~ZstdWriter();
  Status write(std::string_view data);
  Status finish(); // ends the frame and closes the file

private:
  ZstdWriter(std::filesystem::path file, int fd, Sha256* hash);
  Status drain(std::string_view data, bool end);
  std::filesystem::path file_;
  int fd_;
  Sha256* hash_;
  std::unique_ptr<ZSTD_CCtx_s, size_t (*)(ZSTD_CCtx_s*)> ctx_;
  std::string output_;
};

} // namespace kiln::util
