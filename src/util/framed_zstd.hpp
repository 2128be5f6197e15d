// A .zst file written as one zstd frame per content-defined chunk of what it holds (util/chunker),
// each frame compressed on its own, on worker threads, and written in order. Any zstd reader
// reads it as one stream (frames follow each other); kiln's store takes the frames as they are:
// two versions of a file share the frames of the chunks their content shares, so a publish
// uploads and a pull downloads the file's own bytes, with nothing to decompress or compress
// again (store/chunks.hpp). The same content gives the same bytes, whatever the number of cores.
#pragma once

#include "util/chunker.hpp"
#include "util/error.hpp"

#include <functional>
#include <future>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::util {

class FramedZstdWriter {
public:
  // `sink` receives the compressed bytes, in order.
  using Sink = std::function<Status(std::string_view)>;
  explicit FramedZstdWriter(Sink sink, int level = 3);
  ~FramedZstdWriter();

  Status write(std::string_view data);
  Status finish(); // the last chunks; waits for every frame

private:
  // Hands the chunks taken so far to the workers, after writing the batch before.
  Status flush(bool last);

  Sink sink_;
  int level_;
  ChunkSizes sizes_;
  std::string pending_;                                     // content not yet cut into chunks
  std::vector<std::string> batch_;                          // chunks not yet compressed
  std::future<Expected<std::vector<std::string>>> running_; // the batch being compressed
};

// One frame of a .zst file: where it starts, its length, and the size of what it holds.
struct ZstdFrame {
  size_t offset = 0;
  size_t size = 0;
  size_t content_size = 0;
};

// The frames of `data` when it is a sequence of frames that each hold at most `max_content`
// bytes and record their size (what FramedZstdWriter writes); nullopt otherwise.
std::optional<std::vector<ZstdFrame>> small_frames(std::string_view data, size_t max_content);

} // namespace kiln::util
