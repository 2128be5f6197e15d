// The S3 backend's pack and index formats: what it writes reads back, and what a hostile server
// could hand back instead is refused before use.
#include "store/s3/packs.hpp"
#include "util/hash.hpp"

#include <gtest/gtest.h>

namespace {

using namespace kiln::store::s3;

std::string digest_of(const std::string& bytes)
{
  return kiln::util::sha256_hex(bytes);
}

TEST(packs, a_sealed_pack_lists_its_blobs_in_its_trailer)
{
  PackBuilder builder;
  builder.add(digest_of("one"), "one");
  builder.add(digest_of("three"), "three");
  std::string pack = builder.seal();
  EXPECT_TRUE(builder.empty());
  auto entries = read_trailer(pack);
  ASSERT_TRUE(entries) << entries.error().message;
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[1].digest, digest_of("three"));
  EXPECT_EQ(pack.substr((*entries)[1].offset, (*entries)[1].length), "three");
}

TEST(packs, a_damaged_trailer_is_refused)
{
  PackBuilder builder;
  builder.add(digest_of("one"), "one");
  std::string pack = builder.seal();
  EXPECT_FALSE(read_trailer(pack.substr(0, pack.size() - 1))); // no magic
  EXPECT_FALSE(read_trailer("short"));
  std::string longer = pack;
  longer[longer.size() - 16] = '\x7f'; // a trailer length past the pack
  longer[longer.size() - 10] = '\x7f';
  EXPECT_FALSE(read_trailer(longer));
  // An entry that points past the blobs.
  PackBuilder liar;
  liar.add(digest_of("x"), "x");
  std::string lie = liar.seal();
  std::string forged = lie;
  size_t at = forged.find(",0,1]");
  ASSERT_NE(at, std::string::npos);
  forged.replace(at, 5, ",0,9]");
  EXPECT_FALSE(read_trailer(forged));
}

TEST(packs, pack_keys_name_a_sha256_under_its_first_two_digits)
{
  std::string name = digest_of("pack");
  EXPECT_EQ(pack_key(name), "packs/" + name.substr(0, 2) + "/" + name);
  EXPECT_EQ(pack_name_of(pack_key(name)), name);
  EXPECT_EQ(pack_name_of("packs/zz/" + name), "");
  EXPECT_EQ(pack_name_of("packs/../../etc/passwd"), "");
  EXPECT_EQ(pack_name_of("index/" + name), "");
}

TEST(packs, an_index_reads_back_and_a_hostile_one_is_refused)
{
  Index index;
  index[digest_of("pack")] = {{digest_of("a"), 0, 10}, {digest_of("b"), 10, 5}};
  auto back = index_from_json(index_to_json(index), "index/x");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->size(), 1u);
  EXPECT_EQ(back->begin()->second[1].offset, 10u);
  EXPECT_FALSE(index_from_json("not json", "index/x"));
  EXPECT_FALSE(index_from_json(R"({"kiln_index": 1, "packs": {"../x": []}})", "index/x"));
  EXPECT_FALSE(index_from_json(R"({"kiln_index": 1, "packs": {")" + digest_of("p") +
                                   R"(": [["nothex", 0, 1]]}})",
                               "index/x"));
  EXPECT_FALSE(index_from_json(R"({"kiln_index": 1, "packs": {")" + digest_of("p") + R"(": [[")" +
                                   digest_of("a") + R"(", -1, 1]]}})",
                               "index/x"));
  auto error = index_from_json(R"({"kiln_index": 2, "packs": {}})", "index/x");
  ASSERT_FALSE(error);
  EXPECT_NE(error.error().message.find("index/x"), std::string::npos);
}

TEST(packs, ranges_merge_neighbours_and_split_long_reads)
{
  std::vector<PackEntry> wanted = {
      {digest_of("c"), 300, 100}, {digest_of("a"), 0, 100}, {digest_of("b"), 100, 100}};
  auto ranges = merge_ranges(wanted, 0);
  ASSERT_EQ(ranges.size(), 2u); // 0-199, then 300-399 across a gap of 100
  EXPECT_EQ(ranges[0].first, 0u);
  EXPECT_EQ(ranges[0].last, 199u);
  EXPECT_EQ(ranges[0].entries, (std::vector<size_t>{1, 2}));
  EXPECT_EQ(merge_ranges(wanted, 100).size(), 1u); // the gap is read through
  auto split = merge_ranges(wanted, 100, 150);
  EXPECT_EQ(split.size(), 3u); // each read at most about 150 bytes
}

} // namespace
