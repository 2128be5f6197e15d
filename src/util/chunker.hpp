// Content-defined chunking with FastCDC (Xia et al., USENIX ATC 2016): a gear rolling hash over
// the bytes, with normalized chunking (a stricter mask before the target size, a looser one
// after), so that an insertion moves only the chunk boundaries near it. The store keeps each
// chunk once, so two versions of an image share every chunk their content shares.
#pragma once

#include "util/error.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string_view>

namespace kiln::util {

struct ChunkSizes {
  size_t min = 16 * 1024;
  size_t average = 64 * 1024; // a power of two
  size_t max = 256 * 1024;
};

// The length of the first chunk of `data` (all of it when it is shorter than `sizes.min`).
size_t next_chunk(std::string_view data, const ChunkSizes& sizes = {});

// Reads a stream through `read` (bytes into a buffer, 0 at the end) and calls `chunk` with each
// chunk in order; an error from either stops it.
Status chunk_stream(const std::function<Expected<size_t>(char* buffer, size_t capacity)>& read,
                    const std::function<Status(std::string_view chunk)>& chunk,
                    const ChunkSizes& sizes = {});

// Reads `file` once and calls `chunk` with each chunk in order; an error from `chunk` stops it.
Status chunk_file(const std::filesystem::path& file,
                  const std::function<Status(std::string_view chunk)>& chunk,
                  const ChunkSizes& sizes = {});

} // namespace kiln::util
