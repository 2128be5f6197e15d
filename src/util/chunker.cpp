#include "util/chunker.hpp"

#include <array>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <unistd.h>
#include <vector>

namespace kiln::util {

namespace {

// 256 fixed pseudo-random 64-bit values (splitmix64 from a fixed seed): the gear hash's table.
// Changing them changes every chunk boundary, so they never change.
const std::array<uint64_t, 256>& gear()
{
  static const std::array<uint64_t, 256> table = [] {
    std::array<uint64_t, 256> t{};
    uint64_t state = 0x6b696c6e2d636463; // "kiln-cdc"
    for (auto& value : t) {
      state += 0x9e3779b97f4a7c15;
      uint64_t z = state;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
      z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
      value = z ^ (z >> 31);
    }
    return t;
  }();
  return table;
}

// A mask of `bits` one-bits spread over the hash's upper 48 bits (the gear hash's low bits see
// only the last few bytes).
uint64_t spread_mask(int bits)
{
  uint64_t mask = 0;
  for (int i = 0; i < bits; ++i)
    mask |= uint64_t{1} << (63 - i * 48 / bits);
  return mask;
}

} // namespace

size_t next_chunk(std::string_view data, const ChunkSizes& sizes)
{
  size_t n = data.size();
  if (n <= sizes.min)
    return n;
  if (n > sizes.max)
    n = sizes.max;
  size_t normal = std::min(sizes.average, n);
  int bits = std::countr_zero(sizes.average);
  // Normalization level 2: two bits stricter before the target size, two looser after it.
  uint64_t mask_small = spread_mask(bits + 2);
  uint64_t mask_large = spread_mask(bits - 2);
  const auto& table = gear();
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  uint64_t hash = 0;
  size_t i = sizes.min;
  for (; i < normal; ++i) {
    hash = (hash << 1) + table[bytes[i]];
    if (!(hash & mask_small))
      return i + 1;
  }
  for (; i < n; ++i) {
    hash = (hash << 1) + table[bytes[i]];
    if (!(hash & mask_large))
      return i + 1;
  }
  return n;
}

Status chunk_stream(const std::function<Expected<size_t>(char*, size_t)>& read,
                    const std::function<Status(std::string_view chunk)>& chunk,
                    const ChunkSizes& sizes)
{
  std::vector<char> buffer(sizes.max * 4);
  size_t filled = 0, start = 0;
  bool eof = false;
  for (;;) {
    if (!eof && filled - start < sizes.max) {
      // Keep at least one maximal chunk ahead: move the rest to the front, then read.
      std::memmove(buffer.data(), buffer.data() + start, filled - start);
      filled -= start;
      start = 0;
      while (!eof && filled < buffer.size()) {
        auto got = read(buffer.data() + filled, buffer.size() - filled);
        if (!got)
          return std::move(got).error();
        eof = *got == 0;
        filled += *got;
      }
    }
    if (start == filled)
      return ok_status();
    std::string_view rest(buffer.data() + start, filled - start);
    size_t length = next_chunk(rest, sizes);
    KILN_TRY(chunk(rest.substr(0, length)));
    start += length;
  }
}

Status chunk_file(const std::filesystem::path& file,
                  const std::function<Status(std::string_view chunk)>& chunk,
                  const ChunkSizes& sizes)
{
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno_error("cannot open", file.string(), errno, ExitCode::input);
  auto read = [&](char* buffer, size_t capacity) -> Expected<size_t> {
    for (;;) {
      ssize_t got = ::read(fd, buffer, capacity);
      if (got >= 0)
        return static_cast<size_t>(got);
      if (errno != EINTR)
        return errno_error("cannot read", file.string(), errno, ExitCode::input);
    }
  };
  Status status = chunk_stream(read, chunk, sizes);
  ::close(fd);
  return status;
}

} // namespace kiln::util
