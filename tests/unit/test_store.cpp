// The local store beyond the backend suite: processes, its schema level, its locations; and
// files stored as chunks.
#include "store/chunks.hpp"
#include "store/local/local_store.hpp"
#include "store/open.hpp"
#include "test_support.hpp"
#include "util/chunker.hpp"
#include "util/framed_zstd.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/sqlite.hpp"
#include "util/zstd.hpp"

#include <cstring>
#include <fstream>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using kiln::store::LocalStore;

// What the backend suite (test_store_backends.cpp) does not see: where a blob lives, and that
// another process learns of it only at sync().
TEST(local_store, a_blob_is_a_file_by_its_digest_and_indexed_at_sync)
{
  kiln::test::TempDir dir("store");
  auto store = LocalStore::open(dir.path());
  ASSERT_TRUE(store) << store.error().message;
  std::string bytes = "a chunk of a rootfs";
  std::string digest = kiln::util::sha256_hex(bytes);
  ASSERT_TRUE((*store)->put_blob(digest, bytes));
  EXPECT_TRUE(*(*store)->has_blob(digest));
  auto other = LocalStore::open(dir.path());
  EXPECT_FALSE(*(*other)->has_blob(digest));
  ASSERT_TRUE((*store)->sync());
  EXPECT_TRUE(*LocalStore::open(dir.path()).value()->has_blob(digest));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "blobs" / digest.substr(0, 2) / digest));
}

TEST(local_store, two_processes_creating_one_key_get_one_winner)
{
  kiln::test::TempDir dir("store");
  ASSERT_TRUE(LocalStore::open(dir.path()));
  std::vector<pid_t> children;
  for (int writer = 0; writer < 2; ++writer) {
    pid_t pid = ::fork();
    if (pid == 0) {
      auto store = LocalStore::open(dir.path());
      int wins = 0;
      for (int i = 0; i < 50; ++i) {
        auto created =
            (*store)->create_document("key-" + std::to_string(i), std::to_string(writer));
        if (!created)
          ::_exit(100);
        wins += *created ? 1 : 0;
      }
      ::_exit(wins);
    }
    children.push_back(pid);
  }
  int total = 0;
  for (pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_NE(WEXITSTATUS(status), 100) << "a writer failed";
    total += WEXITSTATUS(status);
  }
  EXPECT_EQ(total, 50); // every key created exactly once
}

// Two publishers opening a new store at once: one failed 1 in 12 with "PRAGMA journal_mode=WAL:
// database is locked". Several processes, each opening a fresh store, many times.
TEST(local_store, processes_opening_a_new_store_at_once_all_succeed)
{
  for (int round = 0; round < 30; ++round) {
    kiln::test::TempDir dir("store");
    std::vector<pid_t> children;
    for (int opener = 0; opener < 4; ++opener) {
      pid_t pid = ::fork();
      if (pid == 0) {
        auto store = LocalStore::open(dir.path());
        ::_exit(store && (*store)->create_document("k" + std::to_string(opener), "v") ? 0 : 1);
      }
      children.push_back(pid);
    }
    for (pid_t pid : children) {
      int status = 0;
      ::waitpid(pid, &status, 0);
      ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "round " << round;
    }
  }
}

TEST(local_store, a_store_from_a_newer_kiln_is_refused)
{
  kiln::test::TempDir dir("store");
  ASSERT_TRUE(LocalStore::open(dir.path()));
  {
    auto db = kiln::util::Database::open(dir.path() / "index.sqlite");
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->set_user_version(LocalStore::kSchemaVersion + 1));
  }
  auto store = LocalStore::open(dir.path());
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().message.find("newer than this kiln knows"), std::string::npos);
}

TEST(local_store, locations_other_than_folders_are_refused_for_now)
{
  kiln::test::TempDir dir("store");
  using kiln::store::OpenMode;
  // Only a command that adds to a store creates one; the others need one there already.
  auto missing = kiln::store::open_store("file://" + dir.path().string());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, kiln::ExitCode::input);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "index.sqlite"));
  EXPECT_TRUE(kiln::store::open_store("file://" + dir.path().string(), OpenMode::create));
  EXPECT_TRUE(kiln::store::open_store("file://" + dir.path().string()));
  EXPECT_FALSE(kiln::store::open_store("s3://bucket/images"));
  EXPECT_FALSE(kiln::store::open_store(""));
}

} // namespace

namespace {

using kiln::test::noise;

TEST(stored_files, a_second_version_adds_only_its_new_chunks)
{
  kiln::test::TempDir dir("chunks");
  auto store = LocalStore::open(dir.path() / "store");
  ASSERT_TRUE(store);
  std::string first = noise(6 << 20, 7);
  std::string second = first;
  second.insert(2 << 20, "a package added in the middle of the tar");
  auto v1 = kiln::store::put_file(**store, dir.write("v1.tar", first));
  ASSERT_TRUE(v1) << v1.error().message;
  auto v2 = kiln::store::put_file(**store, dir.write("v2.tar", second));
  ASSERT_TRUE(v2) << v2.error().message;
  EXPECT_EQ(v1->size, first.size());
  EXPECT_EQ(v1->new_blobs, v1->chunks.size());
  EXPECT_LE(v2->new_blobs, 2u) << "of " << v2->chunks.size() << " chunks";
  EXPECT_LT(v2->new_blob_bytes * 20, v1->new_blob_bytes); // under 5 % of the first

  // Through JSON and back, as a version's manifest will hold it.
  auto stored = kiln::store::stored_file_from_json(kiln::store::to_json(*v2));
  ASSERT_TRUE(stored);
  ASSERT_TRUE(kiln::store::get_file(**store, *stored, dir.path() / "pulled.tar"));
  EXPECT_EQ(*kiln::util::read_file(dir.path() / "pulled.tar"), second);
}

TEST(stored_files, a_flipped_byte_in_a_chunk_is_caught_and_named)
{
  kiln::test::TempDir dir("chunks");
  auto store = LocalStore::open(dir.path() / "store");
  ASSERT_TRUE(store);
  auto stored = kiln::store::put_file(**store, dir.write("rootfs.tar", noise(1 << 20, 9)));
  ASSERT_TRUE(stored);
  const auto& victim = stored->chunks.at(1).digest;
  auto blob_file = dir.path() / "store/blobs" / victim.substr(0, 2) / victim;
  std::string bytes = *kiln::util::read_file(blob_file);
  bytes[bytes.size() / 2] ^= 0x01;
  std::ofstream(blob_file, std::ios::binary | std::ios::trunc) << bytes;
  auto pulled = kiln::store::get_file(**store, *stored, dir.path() / "pulled.tar");
  ASSERT_FALSE(pulled);
  EXPECT_NE(pulled.error().message.find("chunk 2 of pulled.tar (blob " + victim + ") is damaged"),
            std::string::npos)
      << pulled.error().message;
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "pulled.tar"));
}

// A .tar.zst is stored by its content and compressed again on the way out, byte for byte.
TEST(stored_files, a_zstd_file_is_stored_by_content_and_comes_back_identical)
{
  kiln::test::TempDir dir("chunks");
  auto store = LocalStore::open(dir.path() / "store");
  ASSERT_TRUE(store);
  auto write_zst = [&](const std::string& name, const std::string& content) {
    auto path = dir.path() / name;
    auto writer = kiln::util::ZstdWriter::create(path);
    EXPECT_TRUE(writer && (*writer)->write(content) && (*writer)->finish());
    return path;
  };
  std::string tar = noise(3 << 20, 11);
  auto v1 =
      kiln::store::put_file(**store, write_zst("v1.tar.zst", tar), kiln::store::Encoding::zstd);
  ASSERT_TRUE(v1) << v1.error().message;
  EXPECT_EQ(v1->content_size, tar.size());
  EXPECT_EQ(v1->content_sha256, kiln::util::sha256_hex(tar));
  EXPECT_EQ(v1->sha256, *kiln::util::sha256_file(dir.path() / "v1.tar.zst"));
  std::string changed = tar;
  changed.replace(1 << 20, 16, "sixteen new byte");
  auto v2 =
      kiln::store::put_file(**store, write_zst("v2.tar.zst", changed), kiln::store::Encoding::zstd);
  ASSERT_TRUE(v2);
  EXPECT_LE(v2->new_blobs, 2u);

  ASSERT_TRUE(kiln::store::get_file(**store, *v2, dir.path() / "pulled.tar.zst"));
  EXPECT_EQ(*kiln::util::read_file(dir.path() / "pulled.tar.zst"),
            *kiln::util::read_file(dir.path() / "v2.tar.zst"));
  // A file compressed some other way is caught on the way out, not handed over.
  auto other = *v2;
  other.sha256 = std::string(64, '0');
  auto pulled = kiln::store::get_file(**store, other, dir.path() / "other.tar.zst");
  ASSERT_FALSE(pulled);
  EXPECT_NE(pulled.error().message.find("compressed again does not match"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "other.tar.zst"));
}

// kiln's own exports: one zstd frame per chunk (util/framed_zstd.hpp). Stored as the frames
// themselves, shared between versions, and written back byte for byte with nothing compressed.
std::filesystem::path write_framed(const std::filesystem::path& path, const std::string& content)
{
  std::string bytes;
  kiln::util::FramedZstdWriter writer([&](std::string_view frame) {
    bytes.append(frame);
    return kiln::ok_status();
  });
  for (size_t at = 0; at < content.size(); at += 100000) // in pieces, as libarchive writes
    EXPECT_TRUE(writer.write(std::string_view(content).substr(at, 100000)));
  EXPECT_TRUE(writer.finish());
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

TEST(stored_files, a_framed_zstd_file_is_stored_as_its_frames)
{
  kiln::test::TempDir dir("frames");
  auto store = LocalStore::open(dir.path() / "store");
  ASSERT_TRUE(store);
  std::string tar = noise(3 << 20, 13);
  auto v1_file = write_framed(dir.path() / "v1.tar.zst", tar);
  // Any zstd reader reads it as one stream, and its frames are the store's chunks of the tar.
  std::string read_back;
  auto reader = kiln::util::ZstdReader::open(v1_file);
  ASSERT_TRUE(reader);
  std::vector<char> buffer(1 << 16);
  for (size_t n; (n = *(*reader)->read(buffer.data(), buffer.size())) > 0;)
    read_back.append(buffer.data(), n);
  EXPECT_EQ(read_back, tar);
  std::vector<size_t> chunk_sizes;
  ASSERT_TRUE(kiln::util::chunk_stream(
      [&, at = size_t{0}](char* out, size_t capacity) mutable -> kiln::Expected<size_t> {
        size_t n = std::min(capacity, tar.size() - at);
        std::memcpy(out, tar.data() + at, n);
        at += n;
        return n;
      },
      [&](std::string_view chunk) {
        chunk_sizes.push_back(chunk.size());
        return kiln::ok_status();
      }));
  auto frames = kiln::util::small_frames(*kiln::util::read_file(v1_file), 256 * 1024);
  ASSERT_TRUE(frames);
  ASSERT_EQ(frames->size(), chunk_sizes.size());
  for (size_t i = 0; i < chunk_sizes.size(); ++i)
    EXPECT_EQ((*frames)[i].content_size, chunk_sizes[i]);

  auto v1 = kiln::store::put_file(**store, v1_file, kiln::store::Encoding::zstd);
  ASSERT_TRUE(v1) << v1.error().message;
  EXPECT_EQ(v1->encoding, kiln::store::Encoding::frames);
  EXPECT_EQ(v1->sha256, *kiln::util::sha256_file(v1_file));
  EXPECT_EQ(v1->chunks.size(), frames->size());
  std::string changed = tar;
  changed.replace(1 << 20, 16, "sixteen new byte");
  auto v2 = kiln::store::put_file(**store, write_framed(dir.path() / "v2.tar.zst", changed),
                                  kiln::store::Encoding::zstd);
  ASSERT_TRUE(v2);
  EXPECT_LE(v2->new_blobs, 2u);
  for (const auto& chunk : v2->chunks)
    EXPECT_TRUE(kiln::store::check_blob(**store, chunk.digest)) << chunk.digest;

  auto json_form = kiln::store::stored_file_from_json(kiln::store::to_json(*v2));
  ASSERT_TRUE(json_form);
  ASSERT_TRUE(kiln::store::get_file(**store, *json_form, dir.path() / "pulled.tar.zst"));
  EXPECT_EQ(*kiln::util::read_file(dir.path() / "pulled.tar.zst"),
            *kiln::util::read_file(dir.path() / "v2.tar.zst"));

  // A damaged frame is caught and named.
  const auto& victim = v2->chunks.at(2).digest;
  auto blob_file = dir.path() / "store/blobs" / victim.substr(0, 2) / victim;
  std::string bytes = *kiln::util::read_file(blob_file);
  bytes[bytes.size() / 2] ^= 0x01;
  std::ofstream(blob_file, std::ios::binary | std::ios::trunc) << bytes;
  auto pulled = kiln::store::get_file(**store, *v2, dir.path() / "bad.tar.zst");
  ASSERT_FALSE(pulled);
  EXPECT_NE(pulled.error().message.find("chunk 3 of bad.tar.zst (blob " + victim + ") is damaged"),
            std::string::npos)
      << pulled.error().message;
  EXPECT_FALSE(kiln::store::check_blob(**store, victim));
}

// A .zst of one large frame is not framed: it is stored by its content.
TEST(stored_files, a_zstd_file_of_one_large_frame_is_not_taken_for_frames)
{
  std::string one = kiln::util::zstd_compress(noise(1 << 20, 5));
  EXPECT_FALSE(kiln::util::small_frames(one, 256 * 1024));
  EXPECT_TRUE(kiln::util::small_frames(one, 2 << 20));
  EXPECT_FALSE(kiln::util::small_frames("not zstd at all", 256 * 1024));
}

TEST(stored_files, check_blob_finds_a_damaged_blob)
{
  kiln::test::TempDir dir("chunks");
  auto store = LocalStore::open(dir.path() / "store");
  ASSERT_TRUE(store);
  auto stored = kiln::store::put_file(**store, dir.write("f", noise(100000, 3)));
  ASSERT_TRUE(stored);
  const auto& digest = stored->chunks.at(0).digest;
  EXPECT_TRUE(kiln::store::check_blob(**store, digest));
  auto blob_file = dir.path() / "store/blobs" / digest.substr(0, 2) / digest;
  std::string bytes = *kiln::util::read_file(blob_file);
  bytes[bytes.size() - 5] ^= 0x40;
  std::ofstream(blob_file, std::ios::binary | std::ios::trunc) << bytes;
  auto checked = kiln::store::check_blob(**store, digest);
  ASSERT_FALSE(checked);
  EXPECT_NE(checked.error().message.find("blob " + digest + " is damaged"), std::string::npos);
}

} // namespace
