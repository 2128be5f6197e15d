// The shared layer cache's pieces that need no root: the signed layer document
// (store/shared_layers), a layer's archive round trip to the same digest, and the refusals of
// restore_specials (bake/layer_archive).
#include "bake/layer_archive.hpp"
#include "bake/layer_cache.hpp"
#include "store/memory/memory_store.hpp"
#include "store/shared_layers.hpp"
#include "test_support.hpp"
#include "util/archive.hpp"
#include "util/signing.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

namespace {

namespace fs = std::filesystem;
using kiln::store::SharedLayer;
using nlohmann::json;

const std::string kKey(64, 'a');

SharedLayer sample_layer()
{
  SharedLayer layer;
  layer.key = kKey;
  layer.digest = std::string(64, 'b');
  layer.archive.sha256 = std::string(64, 'c');
  layer.archive.content_sha256 = layer.archive.sha256;
  layer.archive.size = layer.archive.content_size = 10;
  layer.archive.chunks = {{std::string(64, 'd'), 10}};
  layer.specials = {{"root", {{"mode", 0755}, {"uid", 0}, {"gid", 0}, {"mtime", {1, 2}}}}};
  layer.meta = {{"step", "tools"}};
  layer.created = 1700000000;
  return layer;
}

class SharedLayers : public ::testing::Test {
protected:
  void SetUp() override
  {
    keys_ = *kiln::util::generate_signing_key(dir_.path(), "cache");
    other_ = *kiln::util::generate_signing_key(dir_.path(), "other");
  }
  kiln::test::TempDir dir_{"shared"};
  kiln::util::KeyFiles keys_, other_;
  kiln::store::MemoryStore store_{std::make_shared<kiln::store::MemoryStore::Shared>()};
};

TEST_F(SharedLayers, ASignedDocumentReadsBackWithItsKey)
{
  auto document = kiln::store::shared_layer_document(sample_layer(), keys_.private_key);
  ASSERT_TRUE(document) << document.error().message;
  ASSERT_TRUE(*store_.create_document(kiln::store::kSharedLayersPrefix + kKey, *document));
  auto read = kiln::store::read_shared_layer(store_, kKey, keys_.public_key);
  ASSERT_TRUE(read) << read.error().message;
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((*read)->digest, std::string(64, 'b'));
  EXPECT_EQ((*read)->archive.chunks.size(), 1u);
  EXPECT_EQ((*read)->meta["step"], "tools");
  auto absent = kiln::store::read_shared_layer(store_, std::string(64, 'e'), keys_.public_key);
  ASSERT_TRUE(absent);
  EXPECT_FALSE(absent->has_value());
}

TEST_F(SharedLayers, AnotherKeyOrAChangeIsRefused)
{
  auto document = *kiln::store::shared_layer_document(sample_layer(), keys_.private_key);
  std::string key = kiln::store::kSharedLayersPrefix + kKey;
  ASSERT_TRUE(*store_.create_document(key, document));
  auto other = kiln::store::read_shared_layer(store_, kKey, other_.public_key);
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().message.find("no valid signature"), std::string::npos);

  json changed = json::parse(document);
  changed["layer"]["digest"] = std::string(64, 'f');
  ASSERT_TRUE(*store_.replace_document(key, document, changed.dump()));
  auto tampered = kiln::store::read_shared_layer(store_, kKey, keys_.public_key);
  ASSERT_FALSE(tampered);
  EXPECT_NE(tampered.error().message.find("no valid signature"), std::string::npos);
}

TEST_F(SharedLayers, ADocumentUnderAnotherKeyIsRefused)
{
  auto document = *kiln::store::shared_layer_document(sample_layer(), keys_.private_key);
  std::string elsewhere(64, '1');
  ASSERT_TRUE(*store_.create_document(kiln::store::kSharedLayersPrefix + elsewhere, document));
  auto read = kiln::store::read_shared_layer(store_, elsewhere, keys_.public_key);
  ASSERT_FALSE(read);
  EXPECT_NE(read.error().message.find("names another key"), std::string::npos);
  EXPECT_FALSE(kiln::store::read_shared_layer(store_, "../images/x", keys_.public_key));
}

TEST_F(SharedLayers, ListingKeepsOnlyKeys)
{
  auto document = *kiln::store::shared_layer_document(sample_layer(), keys_.private_key);
  ASSERT_TRUE(*store_.create_document(kiln::store::kSharedLayersPrefix + kKey, document));
  ASSERT_TRUE(
      *store_.create_document(std::string(kiln::store::kSharedLayersPrefix) + "notakey", "{}"));
  auto keys = kiln::store::list_shared_layers(store_);
  ASSERT_TRUE(keys);
  EXPECT_EQ(*keys, std::vector<std::string>{kKey});
}

// A layer written as an archive and unpacked elsewhere measures to the same digest: contents,
// hard links, symbolic links, FIFOs, modes and nanosecond times, and the root's own time.
TEST(LayerArchive, UnpacksToTheSameDigest)
{
  kiln::test::TempDir dir("layer-archive");
  fs::path tree = dir.path() / "tree";
  fs::create_directories(tree / "opt/it/deep");
  dir.write("tree/opt/it/a", "one\n");
  ASSERT_EQ(::link((tree / "opt/it/a").c_str(), (tree / "opt/it/b").c_str()), 0);
  dir.symlink("tree/opt/it/link", "../it/a");
  dir.symlink("tree/opt/it/F\xc5\x91tan\xc3\xba.pem", "Cert_=Class_Gold=_F\xc5\x91.pem");
  dir.write("tree/opt/it/latin1-\xe9", "not UTF-8 in its name\n");
  ASSERT_EQ(::mkfifo((tree / "opt/it/fifo").c_str(), 0640), 0);
  ASSERT_EQ(::chmod((tree / "opt/it/a").c_str(), 04750), 0);
  struct timespec times[2] = {{0, UTIME_OMIT}, {1600000000, 123456789}};
  for (const char* path : {"opt/it/a", "opt/it/deep", "opt/it", "opt", ""})
    ASSERT_EQ(::utimensat(AT_FDCWD, (tree / path).c_str(), times, AT_SYMLINK_NOFOLLOW), 0);
  auto before = kiln::bake::layer_digest(tree, nullptr);
  ASSERT_TRUE(before);

  auto archive = kiln::bake::write_layer_archive(tree, dir.path() / "layer.tar");
  ASSERT_TRUE(archive) << archive.error().message;
  EXPECT_EQ(archive->unshareable, "");
  fs::path copy = dir.path() / "copy";
  fs::create_directories(copy);
  ASSERT_TRUE(kiln::util::extract_archive(dir.path() / "layer.tar", copy, 0, ::geteuid() == 0));
  ASSERT_TRUE(kiln::bake::restore_specials(copy, archive->specials));
  auto after = kiln::bake::layer_digest(copy, nullptr);
  ASSERT_TRUE(after);
  EXPECT_EQ(*after, *before);
}

TEST(LayerArchive, ASocketIsNotShareable)
{
  kiln::test::TempDir dir("layer-socket");
  fs::create_directories(dir.path() / "tree/run");
  ASSERT_EQ(::mknod((dir.path() / "tree/run/sock").c_str(), S_IFSOCK | 0600, 0), 0);
  auto archive = kiln::bake::write_layer_archive(dir.path() / "tree", dir.path() / "layer.tar");
  ASSERT_TRUE(archive);
  EXPECT_EQ(archive->unshareable, "/run/sock is a socket");
}

// restore_specials refuses what kiln never writes, before making anything.
TEST(LayerArchive, RestoreRefusesPathsAndDevicesKilnNeverWrites)
{
  kiln::test::TempDir dir("layer-specials");
  fs::path tree = dir.path() / "tree";
  fs::create_directories(tree / "real");
  dir.symlink("tree/link", "/etc");
  json root = {{"mode", 0755}, {"uid", ::geteuid()}, {"gid", ::getegid()}, {"mtime", {1, 0}}};
  auto device = [](const std::string& path, unsigned major, unsigned minor) {
    return json{{"path", path}, {"major", major}, {"minor", minor}, {"mode", 0600},
                {"uid", 0},     {"gid", 0},       {"mtime", {1, 0}}};
  };
  struct Case {
    json specials;
    std::string says;
  };
  std::vector<Case> cases = {
      {{{"root", root}, {"devices", {device("../escape", 0, 0)}}}, "not a plain relative path"},
      {{{"root", root}, {"devices", {device("/etc/x", 0, 0)}}}, "not a plain relative path"},
      {{{"root", root}, {"devices", {device("link/x", 0, 0)}}}, "cannot be opened below the tree"},
      {{{"root", root}, {"devices", {device("real/sda", 8, 0)}}}, "would be the device 8:0"},
      {{{"root", root}, {"devices", {device("real/mem", 1, 1)}}}, "would be the device 1:1"},
      {{{"root", root}, {"opaque", {{{"path", "link"}, {"value", "y"}}}}}, "is not a folder"},
      {{{"root", root}, {"opaque", {{{"path", "real"}, {"value", "z"}}}}}, "an opaque mark"},
      {{{"devices", json::array()}}, "no root entry"},
  };
  for (const auto& c : cases) {
    kiln::Status restored = kiln::bake::restore_specials(tree, c.specials);
    ASSERT_FALSE(restored) << c.specials.dump();
    EXPECT_EQ(restored.error().code, kiln::ExitCode::input);
    EXPECT_NE(restored.error().message.find(c.says), std::string::npos) << restored.error().message;
  }
  EXPECT_FALSE(fs::exists(fs::symlink_status("/etc/x"))); // nothing was made through the link
}

} // namespace
