// Content-defined chunking: chunks cover the input exactly, stay within their bounds, and an
// insertion changes only the chunks around it.
#include "test_support.hpp"
#include "util/chunker.hpp"
#include "util/hash.hpp"

#include <gtest/gtest.h>
#include <random>
#include <set>

namespace {

std::string random_bytes(size_t size, uint32_t seed)
{
  std::mt19937 rng(seed);
  std::string data(size, '\0');
  for (auto& c : data)
    c = static_cast<char>(rng() & 0xff);
  return data;
}

std::vector<std::string> chunks_of(std::string_view data)
{
  std::vector<std::string> chunks;
  while (!data.empty()) {
    size_t length = kiln::util::next_chunk(data);
    chunks.emplace_back(data.substr(0, length));
    data.remove_prefix(length);
  }
  return chunks;
}

TEST(chunker, chunks_cover_the_input_within_their_bounds)
{
  std::string data = random_bytes(8 << 20, 1);
  auto chunks = chunks_of(data);
  std::string joined;
  kiln::util::ChunkSizes sizes;
  for (size_t i = 0; i < chunks.size(); ++i) {
    joined += chunks[i];
    EXPECT_LE(chunks[i].size(), sizes.max);
    if (i + 1 < chunks.size()) {
      EXPECT_GT(chunks[i].size(), sizes.min);
    }
  }
  EXPECT_EQ(joined, data);
  double average = static_cast<double>(data.size()) / chunks.size();
  EXPECT_GT(average, 40 * 1024.0) << chunks.size() << " chunks";
  EXPECT_LT(average, 100 * 1024.0) << chunks.size() << " chunks";
  EXPECT_EQ(chunks_of(data), chunks); // deterministic
}

TEST(chunker, an_insertion_changes_only_the_chunks_around_it)
{
  std::string data = random_bytes(8 << 20, 2);
  std::string changed = data;
  changed.insert(3 << 20, random_bytes(300, 3));
  std::set<std::string> before;
  for (const auto& chunk : chunks_of(data))
    before.insert(kiln::util::sha256_hex(chunk));
  auto after = chunks_of(changed);
  size_t shared = 0;
  for (const auto& chunk : after)
    shared += before.count(kiln::util::sha256_hex(chunk));
  EXPECT_GE(shared + 3, after.size()) << shared << " of " << after.size() << " chunks shared";
}

TEST(chunker, a_file_is_chunked_as_its_bytes_are)
{
  kiln::test::TempDir dir("chunker");
  std::string data = random_bytes(3 << 20, 4) + std::string(1 << 20, 'z') + "tail";
  auto file = dir.write("rootfs.tar", data);
  std::vector<std::string> seen;
  ASSERT_TRUE(kiln::util::chunk_file(file, [&](std::string_view chunk) {
    seen.emplace_back(chunk);
    return kiln::ok_status();
  }));
  EXPECT_EQ(seen, chunks_of(data));
  EXPECT_FALSE(kiln::util::chunk_file(dir.path() / "missing",
                                      [](std::string_view) { return kiln::ok_status(); }));
}

} // namespace
