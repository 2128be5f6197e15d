// Versions, channels and retention on a local store: publish and pull, signatures and provenance,
// promotion rules, revocation, gc, fsck, and two publishers at once.
#include "release/channels.hpp"
#include "release/config.hpp"
#include "release/fsck.hpp"
#include "release/gc.hpp"
#include "release/provenance.hpp"
#include "release/publish.hpp"
#include "release/pull.hpp"
#include "release/verify.hpp"
#include "store/local/local_store.hpp"
#include "test_support.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/signing.hpp"
#include "util/sqlite.hpp"
#include "util/strings.hpp"
#include "util/zstd.hpp"

#include <fstream>
#include <gtest/gtest.h>
#include <thread>

namespace {

namespace fs = std::filesystem;
using kiln::ExitCode;
using kiln::release::ReleaseConfig;
using kiln::store::LocalStore;
using nlohmann::json;

using kiln::test::noise;

// A build's output folder as kiln build writes it, with a rootfs "tar" of `tar` bytes.
fs::path make_out(kiln::test::TempDir& dir, const std::string& folder, const std::string& version,
                  const std::string& tar, int tests_failed = 0)
{
  fs::path out = dir.path() / folder;
  fs::create_directories(out / "tests");
  auto writer = kiln::util::ZstdWriter::create(out / "rootfs.tar.zst");
  EXPECT_TRUE(writer && (*writer)->write(tar) && (*writer)->finish());
  json manifest = {{"name", "agent"},
                   {"version", version},
                   {"outputs",
                    {{{"name", "rootfs"},
                      {"file", "rootfs.tar.zst"},
                      {"sha256", *kiln::util::sha256_file(out / "rootfs.tar.zst")}}}},
                   {"tests", {{"total", 3}, {"failed", tests_failed}}},
                   {"definition", {{"file", "image.yaml"}, {"sha256", std::string(64, 'd')}}},
                   {"kiln_version", "0.1.0"}};
  std::ofstream(out / "manifest.json") << manifest.dump();
  std::ofstream(out / "tests/junit.xml") << "<testsuites tests=\"3\"/>";
  std::ofstream(out / ".kiln.lock") << "";
  return out;
}

struct Fixture {
  kiln::test::TempDir dir{"release"};
  ReleaseConfig config = kiln::release::default_release_config();
  std::unique_ptr<LocalStore> store;
  std::string tar = noise(2 << 20, 5);

  Fixture()
  {
    config.store = (dir.path() / "store").string();
    store = std::move(LocalStore::open(config.store).value());
  }
  kiln::Expected<kiln::release::PublishResult>
  publish(const std::string& version, const std::string& content, int tests_failed = 0)
  {
    return kiln::release::publish(*store,
                                  make_out(dir,
                                           "out-" + version + "-" + std::to_string(content.size()),
                                           version, content, tests_failed),
                                  config);
  }
};

TEST(release_config, defaults)
{
  auto defaults = kiln::release::default_release_config();
  ASSERT_EQ(defaults.channels.size(), 3u);
  EXPECT_TRUE(defaults.channel("staging")->tests_passed);
  EXPECT_EQ(defaults.channel("prod")->been_in, std::vector<std::string>{"staging"});
  EXPECT_FALSE(kiln::release::store_location(defaults));
}

TEST(release, publish_then_pull_gives_the_same_files_and_a_second_version_adds_little)
{
  Fixture f;
  auto first = f.publish("1.0.0", f.tar);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_FALSE(first->unchanged);
  EXPECT_EQ(first->files, 3u); // manifest.json, rootfs.tar.zst, tests/junit.xml; not the lock

  std::string changed = f.tar;
  changed.insert(1 << 20, "one package more");
  auto second = f.publish("1.1.0", changed);
  ASSERT_TRUE(second);
  EXPECT_LT(second->new_bytes * 10, first->new_bytes);

  auto pulled =
      kiln::release::pull(*f.store, f.config, "agent@^1.0", f.dir.path() / "pulled", false);
  ASSERT_TRUE(pulled) << pulled.error().message;
  EXPECT_EQ(pulled->resolved.version, "1.1.0");
  auto out = f.dir.path() / ("out-1.1.0-" + std::to_string(changed.size()));
  for (const char* file : {"rootfs.tar.zst", "manifest.json", "tests/junit.xml"})
    EXPECT_EQ(*kiln::util::read_file(f.dir.path() / "pulled" / file),
              *kiln::util::read_file(out / file))
        << file;
  EXPECT_FALSE(fs::exists(f.dir.path() / "pulled/.kiln.lock"));
  // Not into a folder that holds something.
  auto again =
      kiln::release::pull(*f.store, f.config, "agent@1.1.0", f.dir.path() / "pulled", false);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ExitCode::usage);
}

// A base that names a published image: pulled once into the cache, reused while the version is
// the same, pulled again when the folder is not whole, and a revoked version is refused.
TEST(release, fetch_image_pulls_once_and_again_only_when_the_copy_is_not_whole)
{
  Fixture f;
  ASSERT_TRUE(f.publish("1.0.0", f.tar));
  fs::path root = f.dir.path() / "cache-images";
  auto first = kiln::release::fetch_image(*f.store, f.config, "agent@^1", root);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_TRUE(first->pulled);
  EXPECT_EQ(first->resolved.version, "1.0.0");
  EXPECT_EQ(first->dir.parent_path(), root);
  EXPECT_EQ(first->dir.filename().string().rfind("agent@1.0.0-", 0), 0u);
  EXPECT_TRUE(fs::exists(first->dir / "rootfs.tar.zst"));
  auto second = kiln::release::fetch_image(*f.store, f.config, "agent@1.0.0", root);
  ASSERT_TRUE(second);
  EXPECT_FALSE(second->pulled);
  EXPECT_EQ(second->dir, first->dir);
  std::ofstream(first->dir / "manifest.json", std::ios::app) << " ";
  auto third = kiln::release::fetch_image(*f.store, f.config, "agent@1.0.0", root);
  ASSERT_TRUE(third) << third.error().message;
  EXPECT_TRUE(third->pulled);
  EXPECT_EQ(*kiln::util::sha256_file(third->dir / "manifest.json"),
            third->resolved.document.version.manifest_sha256);
  for (const auto& entry : fs::directory_iterator(root)) // no half-pulled folder is left
    EXPECT_EQ(entry.path(), first->dir);
  ASSERT_TRUE(kiln::release::revoke(*f.store, "agent", "1.0.0", "broken"));
  auto revoked = kiln::release::fetch_image(*f.store, f.config, "agent@1.0.0", root);
  ASSERT_FALSE(revoked);
  EXPECT_EQ(revoked.error().code, ExitCode::refused);
}

// A store is not trusted with the user's folders: a version listing a path that climbs out of
// --to, or an absolute one, was once written there by pull when no public key was set.
TEST(release, pull_refuses_paths_that_leave_its_folder)
{
  Fixture f;
  ASSERT_TRUE(f.publish("1.0.0", f.tar));
  std::string original = f.store->get_document("images/agent/versions/1.0.0").value().value();
  fs::path outside = f.dir.path() / "outside";
  int n = 1;
  for (std::string forged :
       std::vector<std::string>{"../outside", (outside / "abs").string(), "a/../../outside",
                                "./manifest.json", "logs//x"}) {
    SCOPED_TRACE(forged);
    json doc = json::parse(original);
    std::string version = "1.0." + std::to_string(n++);
    doc["version"]["version"] = version;
    doc["version"]["files"][0]["path"] = forged;
    ASSERT_TRUE(f.store->create_document("images/agent/versions/" + version, doc.dump()).value());
    auto pulled = kiln::release::pull(*f.store, f.config, "agent@" + version,
                                      f.dir.path() / ("pulled-" + version), false);
    ASSERT_FALSE(pulled);
    EXPECT_NE(pulled.error().message.find("not a plain relative path"), std::string::npos)
        << pulled.error().message;
    EXPECT_FALSE(fs::exists(outside));
    EXPECT_FALSE(fs::exists(outside / "abs"));
  }
  EXPECT_TRUE(kiln::util::is_plain_relative_path("logs/01-bootstrap.log"));
  EXPECT_FALSE(kiln::util::is_plain_relative_path("logs/"));
  EXPECT_FALSE(kiln::util::is_plain_relative_path(""));
}

TEST(release, a_version_never_changes)
{
  Fixture f;
  ASSERT_TRUE(f.publish("1.0.0", f.tar));
  auto same = f.publish("1.0.0", f.tar); // the same files from another folder
  ASSERT_TRUE(same);
  EXPECT_TRUE(same->unchanged);
  // A rebuild of the same image: its logs, timings and test durations differ, not the image.
  fs::path rebuilt = make_out(f.dir, "rebuilt", "1.0.0", f.tar);
  std::ofstream(rebuilt / "tests/junit.xml") << "<testsuites tests=\"3\" time=\"9.1\"/>";
  std::ofstream(rebuilt / "timings.json") << "[{\"seconds\": 12.5}]";
  fs::create_directories(rebuilt / "logs");
  std::ofstream(rebuilt / "logs/01-base.log") << "done in 14.2s\n";
  auto republished = kiln::release::publish(*f.store, rebuilt, f.config);
  ASSERT_TRUE(republished) << republished.error().message;
  EXPECT_TRUE(republished->unchanged);
  // What describes the image is part of it: an SBOM of other content is another image.
  fs::path described = make_out(f.dir, "described", "1.0.0", f.tar);
  std::ofstream(described / "sbom.cdx.json") << "{}";
  EXPECT_FALSE(kiln::release::publish(*f.store, described, f.config));
  auto other = f.publish("1.0.0", noise(1 << 20, 8));
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ExitCode::refused);
  EXPECT_NE(other.error().message.find("agent@1.0.0 is already published, with other content"),
            std::string::npos);
}

TEST(release, a_version_that_is_not_semver_or_an_edited_output_is_refused)
{
  Fixture f;
  auto bad = f.publish("latest", f.tar);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("not a semantic version"), std::string::npos);

  auto out = make_out(f.dir, "edited", "1.0.0", f.tar);
  std::ofstream(out / "rootfs.tar.zst", std::ios::app) << "x";
  auto edited = kiln::release::publish(*f.store, out, f.config);
  ASSERT_FALSE(edited);
  EXPECT_NE(edited.error().message.find("does not match manifest.json"), std::string::npos);
  EXPECT_TRUE(kiln::release::list_versions(*f.store, "agent")->empty());

  json manifest = json::parse(*kiln::util::read_file(out / "manifest.json"));
  manifest["name"] = "../agent";
  std::ofstream(out / "manifest.json", std::ios::trunc) << manifest.dump();
  auto named = kiln::release::publish(*f.store, out, f.config);
  ASSERT_FALSE(named);
  EXPECT_NE(named.error().message.find("not a valid image name"), std::string::npos);

  auto missing = kiln::release::publish(*f.store, f.dir.path() / "nothing", f.config);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("no manifest.json"), std::string::npos);
}

// An image without tests, git facts or a catalog entry has nulls in its manifest.
TEST(release, a_manifest_with_null_fields_publishes)
{
  Fixture f;
  auto out = make_out(f.dir, "nulls", "1.0.0", f.tar);
  json manifest = json::parse(*kiln::util::read_file(out / "manifest.json"));
  for (const char* key : {"tests", "git_commit", "artifacts", "packages", "definition"})
    manifest[key] = nullptr;
  manifest["base"] = {{"bootstrap", {{"mirror", nullptr}}}, {"catalog", nullptr}};
  std::ofstream(out / "manifest.json", std::ios::trunc) << manifest.dump();
  auto published = kiln::release::publish(*f.store, out, f.config);
  ASSERT_TRUE(published) << published.error().message;
  auto version = kiln::release::read_version(*f.store, "agent", "1.0.0");
  ASSERT_TRUE(version);
  EXPECT_EQ(version->version.tests_total, 0);
  EXPECT_FALSE(version->version.parent);
  EXPECT_TRUE(kiln::release::verify(*f.store, f.config, "agent@1.0.0"));
}

TEST(release, signatures_and_provenance_are_checked_with_the_public_key)
{
  Fixture f;
  auto keys = kiln::util::generate_signing_key(f.dir.path(), "release");
  auto stranger = kiln::util::generate_signing_key(f.dir.path(), "stranger");
  ASSERT_TRUE(keys && stranger);
  f.config.signing_key = keys->private_key;
  auto published = f.publish("1.0.0", f.tar);
  ASSERT_TRUE(published);
  EXPECT_EQ(published->keyid, *kiln::util::key_fingerprint(keys->public_key));

  f.config.public_key = keys->public_key;
  auto verified = kiln::release::verify(*f.store, f.config, "agent@1.0.0");
  ASSERT_TRUE(verified) << verified.error().message;
  EXPECT_EQ(verified->checked.size(), 4u);
  EXPECT_TRUE(verified->skipped.empty());

  f.config.public_key = stranger->public_key;
  auto wrong = kiln::release::verify(*f.store, f.config, "agent@1.0.0");
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("no valid signature by"), std::string::npos);
  EXPECT_FALSE(kiln::release::pull(*f.store, f.config, "agent@1.0.0", f.dir.path() / "p", false));

  // A version document changed after publishing: its signature no longer holds.
  f.config.public_key = keys->public_key;
  std::string key = kiln::release::version_key("agent", "1.0.0");
  std::string text = **f.store->get_document(key);
  json doc = json::parse(text);
  doc["version"]["tests"]["failed"] = 0;
  doc["version"]["publisher"] = "mallory@elsewhere";
  ASSERT_TRUE(*f.store->replace_document(key, text, doc.dump()));
  auto tampered = kiln::release::verify(*f.store, f.config, "agent@1.0.0");
  ASSERT_FALSE(tampered);
  EXPECT_NE(tampered.error().message.find("no valid signature"), std::string::npos);
  auto fsck = kiln::release::fsck(*f.store, f.config);
  ASSERT_TRUE(fsck);
  ASSERT_EQ(fsck->problems.size(), 1u);
  EXPECT_NE(fsck->problems[0].find("no valid signature"), std::string::npos);
  // Provenance that names other files is caught too, signature or not.
  json forged = json::parse(**f.store->get_document(key));
  std::string forged_text = forged.dump();
  forged["provenance"]["payload"] =
      kiln::util::base64_encode(json{{"subject", json::array()}, {"predicateType", "x"}}.dump());
  forged["provenance"]["signatures"] = json::array();
  ASSERT_TRUE(*f.store->replace_document(key, forged_text, forged.dump()));
  auto no_key = f.config;
  no_key.public_key.clear();
  auto problems = kiln::release::fsck(*f.store, no_key)->problems;
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("the provenance's subjects are not the version's files"),
            std::string::npos);

  // A signing key that cannot be read fails before anything is stored.
  Fixture g;
  g.config.signing_key = g.dir.path() / "missing.key";
  ASSERT_FALSE(g.publish("1.0.0", g.tar));
  EXPECT_TRUE(g.store->list_blobs()->empty());
  EXPECT_TRUE(g.store->list_unindexed()->empty());

  // Unsigned, with a public key configured: refused.
  f.config.signing_key.clear();
  ASSERT_TRUE(f.publish("1.0.1", f.tar));
  auto unsigned_ = kiln::release::verify(*f.store, f.config, "agent@1.0.1");
  ASSERT_FALSE(unsigned_);
  EXPECT_NE(unsigned_.error().message.find("is not signed"), std::string::npos);
}

TEST(release, provenance_statement_names_the_files_and_the_inputs)
{
  kiln::release::Version v;
  v.name = "agent";
  v.version = "1.0.0";
  v.files.push_back({"rootfs.tar.zst", {}});
  v.files.back().stored.sha256 = std::string(64, 'a');
  json manifest = {
      {"definition",
       {{"file", "image.yaml"},
        {"sha256", "d1"},
        {"inputs", {{{"path", "files/x"}, {"sha256", "x1"}}}}}},
      {"git_commit", "abc123"},
      {"kiln_version", "0.1.0"},
      {"artifacts", {{{"url", "https://e/t.tgz"}, {"sha256", "t1"}, {"step", "s"}}}},
      {"packages", {{{"name", "git"}, {"version", "1:2.39"}, {"architecture", "amd64"}}}},
      {"base", {{"image", {{"name", "base"}, {"version", "2.0.0"}, {"manifest_sha256", "m1"}}}}}};
  json s = kiln::release::provenance_statement(manifest, v);
  EXPECT_EQ(s["_type"], "https://in-toto.io/Statement/v1");
  EXPECT_EQ(s["predicateType"], "https://slsa.dev/provenance/v1");
  EXPECT_EQ(s["subject"][0]["digest"]["sha256"], std::string(64, 'a'));
  const json& build = s["predicate"]["buildDefinition"];
  EXPECT_EQ(build["externalParameters"]["definition"]["digest"]["sha256"], "d1");
  std::string deps = build["resolvedDependencies"].dump();
  for (const char* expected :
       {"\"m1\"", "\"abc123\"", "\"x1\"", "\"t1\"", "pkg:deb/debian/git@1:2.39?arch=amd64"})
    EXPECT_NE(deps.find(expected), std::string::npos) << expected;
  EXPECT_EQ(s["predicate"]["runDetails"]["builder"]["version"]["kiln"], "0.1.0");
  EXPECT_EQ(kiln::release::dsse_pae("t", "hello"), "DSSEv1 1 t 5 hello");
}

kiln::release::Version tested(const std::string& version, int total, int failed)
{
  kiln::release::Version v;
  v.version = version;
  v.tests_total = total;
  v.tests_failed = failed;
  return v;
}

TEST(channels, promotion_rules)
{
  auto config = kiln::release::default_release_config();
  kiln::release::ChannelState state;
  const auto& staging = *config.channel("staging");
  const auto& prod = *config.channel("prod");
  EXPECT_FALSE(kiln::release::promotion_refusal(*config.channel("dev"), tested("1.0.0", 0, 0),
                                                state, false));
  EXPECT_NE(kiln::release::promotion_refusal(staging, tested("1.0.0", 3, 1), state, false)
                ->find("1 of its 3 tests failed"),
            std::string::npos);
  EXPECT_NE(kiln::release::promotion_refusal(staging, tested("1.0.0", 0, 0), state, false)
                ->find("it recorded none"),
            std::string::npos);
  EXPECT_FALSE(kiln::release::promotion_refusal(staging, tested("1.0.0", 3, 0), state, false));
  EXPECT_NE(kiln::release::promotion_refusal(prod, tested("1.0.0", 3, 0), state, false)
                ->find("were in 'staging' before"),
            std::string::npos);
  state.history.push_back({1, "me@here", "promote", "staging", "1.0.0", "", ""});
  EXPECT_FALSE(kiln::release::promotion_refusal(prod, tested("1.0.0", 3, 0), state, false));
  EXPECT_NE(
      kiln::release::promotion_refusal(prod, tested("1.0.0", 3, 0), state, true)->find("revoked"),
      std::string::npos);
}

TEST(channels, promote_records_every_move_and_revoke_is_honoured)
{
  Fixture f;
  ASSERT_TRUE(f.publish("1.0.0", f.tar));
  ASSERT_TRUE(f.publish("1.1.0", noise(1 << 20, 2)));
  ASSERT_TRUE(f.publish("1.2.0", noise(1 << 20, 3), 1)); // a test failed
  auto promote = [&](const std::string& version, const std::string& channel) {
    return kiln::release::promote(*f.store, f.config, "agent", version, channel);
  };
  auto refused = promote("1.0.0", "prod");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ExitCode::refused);
  ASSERT_TRUE(promote("1.0.0", "staging"));
  ASSERT_TRUE(promote("1.0.0", "prod"));
  ASSERT_TRUE(promote("1.1.0", "staging"));
  EXPECT_FALSE(promote("1.2.0", "staging"));
  EXPECT_FALSE(promote("9.9.9", "dev"));
  auto unknown = promote("1.0.0", "qa");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ExitCode::usage);

  auto state = kiln::release::read_channels(*f.store, "agent");
  ASSERT_TRUE(state);
  EXPECT_EQ(state->pointers.at("prod"), "1.0.0");
  EXPECT_EQ(state->pointers.at("staging"), "1.1.0");
  ASSERT_EQ(state->history.size(), 3u);
  EXPECT_EQ(state->history[2].previous, "1.0.0");

  auto resolve = [&](const std::string& ref, bool force = false) {
    return kiln::release::resolve(*f.store, f.config, ref, force);
  };
  EXPECT_EQ(resolve("agent@prod")->version, "1.0.0");
  EXPECT_EQ(resolve("agent@^1")->version, "1.2.0");
  EXPECT_EQ(resolve("agent@~1.1")->version, "1.1.0");
  EXPECT_FALSE(resolve("agent@dev")); // points nowhere yet
  EXPECT_FALSE(resolve("agent@2.x"));
  EXPECT_FALSE(resolve("agent"));

  auto revoked = kiln::release::revoke(*f.store, "agent", "1.2.0", "broken openssl");
  ASSERT_TRUE(revoked);
  EXPECT_TRUE(revoked->channels.empty());
  EXPECT_EQ(resolve("agent@^1")->version, "1.1.0"); // a range skips it
  auto exact = resolve("agent@1.2.0");
  ASSERT_FALSE(exact);
  EXPECT_EQ(exact.error().code, ExitCode::refused);
  EXPECT_TRUE(resolve("agent@1.2.0", true)->revoked);
  auto pointed = kiln::release::revoke(*f.store, "agent", "1.0.0", "superseded");
  ASSERT_TRUE(pointed);
  EXPECT_EQ(pointed->channels, std::vector<std::string>{"prod"});
  EXPECT_FALSE(resolve("agent@prod"));
  EXPECT_TRUE(kiln::release::revoke(*f.store, "agent", "1.0.0", "again")->already);
  EXPECT_FALSE(kiln::release::revoke(*f.store, "agent", "1.0.0", ""));
  EXPECT_EQ(kiln::release::read_channels(*f.store, "agent")->history.size(), 5u);
}

TEST(gc, retention_keeps_channels_the_newest_and_the_young)
{
  kiln::release::Retention keep{2, 100};
  std::vector<kiln::release::VersionAge> versions = {{"1.0.0", 0, false}, {"1.1.0", 0, true},
                                                     {"1.2.0", 0, false}, {"1.3.0", 950, false},
                                                     {"1.4.0", 0, false}, {"1.5.0", 0, false}};
  EXPECT_EQ(kiln::release::expired_versions(versions, keep, 1000),
            (std::vector<std::string>{"1.0.0", "1.2.0"}));
  keep.keep_newest = 0;
  keep.keep_younger_than = 0;
  EXPECT_EQ(kiln::release::expired_versions(versions, keep, 1000).size(), 5u);
}

TEST(gc, removes_versions_then_the_chunks_only_they_needed_and_fsck_stays_clean)
{
  Fixture f;
  ASSERT_TRUE(f.publish("1.0.0", f.tar));
  ASSERT_TRUE(f.publish("2.0.0", noise(1 << 20, 77)));
  ASSERT_TRUE(kiln::release::promote(*f.store, f.config, "agent", "1.0.0", "dev"));
  // Litter of a publish that died: a blob file no index lists.
  f.dir.write("store/blobs/ab/" + std::string(64, 'f'), "half a chunk");
  auto stored_bytes = [&f] {
    int64_t total = 0;
    auto listed = f.store->list_blobs().value();
    for (const auto& blob : listed)
      total += blob.size;
    return total;
  };
  size_t blobs_before = f.store->list_blobs()->size();
  int64_t bytes_before = stored_bytes();

  kiln::release::Retention none{0, 0};
  auto dry = kiln::release::gc(*f.store, none, true);
  ASSERT_TRUE(dry);
  EXPECT_EQ(dry->versions, std::vector<std::string>{"agent@2.0.0"});
  EXPECT_EQ(dry->litter, 1u);
  EXPECT_EQ(f.store->list_blobs()->size(), blobs_before);

  auto done = kiln::release::gc(*f.store, none, false);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->kept_versions, 1u); // 1.0.0: dev points at it
  EXPECT_GT(done->blobs, 0u);
  EXPECT_EQ(f.store->list_blobs()->size(), blobs_before - done->blobs);
  EXPECT_GT(done->blob_bytes, 1 << 20); // 2.0.0's noise does not compress
  EXPECT_EQ(dry->blob_bytes, done->blob_bytes);
  EXPECT_EQ(stored_bytes(), bytes_before - done->blob_bytes);
  EXPECT_TRUE(f.store->list_unindexed()->empty());
  EXPECT_EQ(*kiln::release::list_versions(*f.store, "agent"), std::vector<std::string>{"1.0.0"});
  auto report = kiln::release::fsck(*f.store, f.config);
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->problems.empty());
  EXPECT_EQ(report->blob_bytes, stored_bytes());
  EXPECT_TRUE(kiln::release::pull(*f.store, f.config, "agent@dev", f.dir.path() / "p", false));
}

// An index deleted or emptied once looked like a new store, and gc then removed every chunk.
TEST(gc, refuses_a_store_whose_index_lost_its_versions)
{
  for (const char* how : {"deleted", "emptied"}) {
    SCOPED_TRACE(how);
    Fixture f;
    ASSERT_TRUE(f.publish("1.0.0", f.tar));
    ASSERT_TRUE(f.publish("1.1.0", f.tar + "more"));
    fs::path root = f.config.store;
    f.store.reset();
    if (std::string(how) == "deleted") {
      for (const char* file : {"index.sqlite", "index.sqlite-wal", "index.sqlite-shm"})
        fs::remove(root / file);
    } else {
      auto db = kiln::util::Database::open(root / "index.sqlite").value();
      ASSERT_TRUE(db.execute("DELETE FROM documents"));
      ASSERT_TRUE(db.execute("DELETE FROM blobs"));
      ASSERT_TRUE(db.execute("DELETE FROM meta"));
    }
    f.store = std::move(LocalStore::open(root).value());
    size_t files = 0;
    for (const auto& entry : fs::recursive_directory_iterator(root / "blobs"))
      files += entry.is_regular_file();
    ASSERT_GT(files, 0u);

    kiln::release::Retention none{0, 0};
    auto refused = kiln::release::gc(*f.store, none, false);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ExitCode::refused);
    EXPECT_NE(refused.error().message.find("documents ever created"), std::string::npos);
    size_t after = 0;
    for (const auto& entry : fs::recursive_directory_iterator(root / "blobs"))
      after += entry.is_regular_file();
    EXPECT_EQ(after, files);
    auto report = kiln::release::fsck(*f.store, f.config);
    ASSERT_TRUE(report);
    ASSERT_FALSE(report->problems.empty());
    EXPECT_NE(report->problems[0].find("deleted, replaced or emptied"), std::string::npos);
    EXPECT_TRUE(kiln::release::gc(*f.store, none, false, /*force=*/true));
  }
}

TEST(fsck, finds_a_flipped_byte_and_a_missing_chunk_and_names_them)
{
  Fixture f;
  ASSERT_TRUE(f.publish("1.0.0", f.tar));
  auto clean = kiln::release::fsck(*f.store, f.config);
  ASSERT_TRUE(clean);
  EXPECT_TRUE(clean->problems.empty());
  EXPECT_EQ(clean->versions, 1u);

  std::vector<std::string> blobs;
  auto listed = f.store->list_blobs().value();
  for (const auto& blob : listed)
    blobs.push_back(blob.digest);
  fs::path flipped = f.dir.path() / "store/blobs" / blobs[0].substr(0, 2) / blobs[0];
  std::string bytes = *kiln::util::read_file(flipped);
  bytes[bytes.size() / 2] ^= 0x10;
  std::ofstream(flipped, std::ios::binary | std::ios::trunc) << bytes;
  fs::remove(f.dir.path() / "store/blobs" / blobs[1].substr(0, 2) / blobs[1]);

  auto report = kiln::release::fsck(*f.store, f.config);
  ASSERT_TRUE(report);
  std::string all;
  for (const auto& p : report->problems)
    all += p + "\n";
  EXPECT_NE(all.find("blob " + blobs[0] + " is damaged"), std::string::npos) << all;
  EXPECT_NE(all.find("blob " + blobs[1] + " cannot be read"), std::string::npos) << all;
  auto pulled = kiln::release::pull(*f.store, f.config, "agent@1.0.0", f.dir.path() / "p", false);
  ASSERT_FALSE(pulled);
  EXPECT_NE(pulled.error().message.find("(blob "), std::string::npos);
  EXPECT_FALSE(fs::exists(f.dir.path() / "p"));
}

TEST(release, two_publishers_at_once)
{
  Fixture f;
  auto out_a = make_out(f.dir, "a", "1.0.0", f.tar);
  auto out_b = make_out(f.dir, "b", "1.1.0", noise(3 << 20, 4));
  auto out_c = make_out(f.dir, "c", "1.1.0", noise(3 << 20, 6)); // same version, other content
  auto run = [&](const fs::path& out) {
    auto store = LocalStore::open(f.config.store);
    return kiln::release::publish(**store, out, f.config);
  };
  // Different versions: both land.
  kiln::Expected<kiln::release::PublishResult> a = kiln::make_error(ExitCode::usage, "");
  std::thread other([&] { a = run(out_a); });
  auto b = run(out_b);
  other.join();
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_TRUE(b) << b.error().message;
  // The same version with other content: one wins, the other is refused cleanly.
  f.store->delete_document(kiln::release::version_key("agent", "1.1.0")).value();
  kiln::Expected<kiln::release::PublishResult> c = kiln::make_error(ExitCode::usage, "");
  std::thread third([&] { c = run(out_c); });
  auto b2 = run(out_b);
  third.join();
  EXPECT_NE(bool(b2), bool(c));
  const auto& loser = b2 ? c : b2;
  EXPECT_EQ(loser.error().code, ExitCode::refused);
  auto report = kiln::release::fsck(*f.store, f.config);
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->problems.empty());
  EXPECT_EQ(kiln::release::list_versions(*f.store, "agent")->size(), 2u);
}

} // namespace
