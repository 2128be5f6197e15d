// bake/: cache keys, explanations, the layer store, the package cache and pruning. No root needed:
// layers here are plain folders.
#include "bake/cache_admin.hpp"
#include "bake/deb_cache.hpp"
#include "bake/epoch.hpp"
#include "bake/exporters/registry.hpp"
#include "bake/layer_cache.hpp"
#include "bake/plan.hpp"
#include "spec/loader.hpp"
#include "test_support.hpp"
#include "util/hash.hpp"
#include "util/process.hpp"
#include "util/strings.hpp"

#include <cstdlib>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace kiln::bake;

namespace {

struct Quiet : BuildObserver {};

class Plan : public ::testing::Test {
protected:
  void SetUp() override
  {
    dir_ = kiln::test::TempDir("plan");
    dir_.write("files/env.sh", "export A=1\n");
  }

  std::vector<std::string> keys(const std::string& yaml)
  {
    auto file = dir_.write("image.yaml", yaml);
    auto loaded = kiln::spec::load_definition(file);
    EXPECT_TRUE(loaded.definition)
        << (loaded.diagnostics.empty() ? "" : loaded.diagnostics[0].str());
    Quiet quiet;
    StepLog log("/dev/null", quiet);
    auto cache = kiln::bake::LayerCache::open(dir_.path() / "cache");
    EXPECT_TRUE(cache);
    auto inputs = resolve_inputs(*loaded.definition, *cache, false, log);
    EXPECT_TRUE(inputs);
    std::vector<std::string> out;
    std::string parent;
    for (const auto& spec : layer_specs(*loaded.definition, *inputs)) {
      out.push_back(layer_key(spec, parent));
      parent = "digest-of-" + out.back(); // stands in for the layer's digest
    }
    return out;
  }

  kiln::test::TempDir dir_;
};

const char* kPlain =
    "name: a\nversion: 1.0.0\nbase: {bootstrap: {}}\nsteps:\n"
    "  - {name: tools, packages: [jq]}\n"
    "  - {name: env, file: {src: files/env.sh, dest: /etc/env.sh, mode: '0644'}}\n";

TEST_F(Plan, keys_ignore_the_yaml_spelling_and_step_names)
{
  auto plain = keys(kPlain);
  auto respelled = keys("# comment\nversion: 1.0.0\nname: a\nsteps:\n"
                        "  - packages:\n      - jq\n    name: other-name\n"
                        "  - file:\n      mode: \"0644\"\n      dest: /etc/env.sh\n"
                        "      src: files/env.sh\nbase:\n  bootstrap: {variant: minbase}\n");
  EXPECT_EQ(plain, respelled);
}

TEST_F(Plan, an_input_change_changes_its_step_and_every_step_above)
{
  auto before = keys(kPlain + std::string("  - shell: 'true'\n"));
  dir_.write("files/env.sh", "export A=2\n");
  auto after = keys(kPlain + std::string("  - shell: 'true'\n"));
  ASSERT_EQ(before.size(), 4u);
  EXPECT_EQ(before[0], after[0]); // base
  EXPECT_EQ(before[1], after[1]); // tools
  EXPECT_NE(before[2], after[2]); // env reads the file
  EXPECT_NE(before[3], after[3]); // above it
}

TEST_F(Plan, the_base_key_covers_every_bootstrap_setting)
{
  auto base = keys(kPlain)[0];
  for (const char* change : {"{suite: trixie}", "{variant: apt}", "{mirror: 'http://m.invalid/d'}",
                             "{components: [main, contrib]}", "{packages: [curl]}"}) {
    std::string yaml = kPlain;
    yaml.replace(yaml.find("{bootstrap: {}}"), 15, "{bootstrap: " + std::string(change) + "}");
    EXPECT_NE(keys(yaml)[0], base) << change;
  }
}

TEST(PlanExplain, says_what_changed)
{
  LayerSpec spec{"env", "file", {{"src", "files/env.sh"}, {"src_sha256", "new"}}, false};
  LayerMeta previous;
  previous.inputs = recorded_inputs(
      {"env", "file", {{"src", "files/env.sh"}, {"src_sha256", "old"}}, false}, "parent-1");
  EXPECT_EQ(explain_miss(spec, "parent-1", previous), "files/env.sh changed");
  EXPECT_EQ(explain_miss(spec, "parent-2", previous),
            "the layer below it changed; files/env.sh changed");
  EXPECT_EQ(explain_miss(spec, "parent-1", std::nullopt), "not built before");
}

TEST(PlanExport, the_export_key_depends_on_top_layer_epoch_and_outputs)
{
  const std::vector<std::string> tar = {"rootfs:"};
  EXPECT_EQ(export_key("d1", 5, tar), export_key("d1", 5, tar));
  EXPECT_NE(export_key("d1", 5, tar), export_key("d2", 5, tar));
  EXPECT_NE(export_key("d1", 5, tar), export_key("d1", 6, tar));
  EXPECT_NE(export_key("d1", 5, tar), export_key("d1", 5, {"rootfs:", "raw:size=8G"}));
  EXPECT_NE(export_key("d1", 5, {"raw:size=8G"}), export_key("d1", 5, {"raw:size=9G"}));
}

// Every output the definition format accepts has an exporter, and its file is cleared from OUT.
TEST(Exporters, cover_every_supported_output)
{
  auto names = exporter_names();
  for (auto output : kiln::spec::kSupportedOutputs)
    EXPECT_NE(std::find(names.begin(), names.end(), output), names.end()) << output;
  kiln::spec::Definition definition;
  definition.outputs = {"rootfs"};
  auto exporters = exporters_for(definition);
  ASSERT_TRUE(exporters);
  ASSERT_EQ(exporters->size(), 1u);
  EXPECT_EQ((*exporters)[0]->file(), "rootfs.tar.zst");
  auto files = all_output_files();
  EXPECT_NE(std::find(files.begin(), files.end(), "rootfs.tar.zst"), files.end());
  definition.outputs = {"floppy"};
  EXPECT_FALSE(exporters_for(definition));
}

// A disk's bytes depend on the tools that write it: their packages' versions are in its key.
TEST(Exporters, a_disk_key_names_the_versions_of_its_tools)
{
  kiln::spec::Definition definition;
  definition.outputs = {"rootfs", "raw"};
  auto exporters = exporters_for(definition);
  ASSERT_TRUE(exporters);
  auto parts = export_key_parts(*exporters);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[1].find("raw:"), 0u) << parts[1];
  EXPECT_NE(parts[1].find(",tools="), std::string::npos) << parts[1];
  if (!kiln::util::find_program("dpkg-query").empty()) {
    EXPECT_NE(parts[1].find("e2fsprogs "), std::string::npos) << parts[1];
  }
}

// The base's epoch is the time of the commit that last changed `base:`, whatever its spelling.
TEST(BaseEpoch, is_the_time_of_the_commit_that_last_changed_the_base)
{
  kiln::test::TempDir dir("epoch");
  auto git = [&](const std::string& args) {
    std::string command = "cd '" + dir.path().string() + "' && git -c user.name=t -c " +
                          "user.email=t@localhost " + args + " >/dev/null 2>&1";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  };
  auto commit_at = [&](int64_t time) {
    std::string date = "@" + std::to_string(time) + " +0000";
    git("add -A && GIT_AUTHOR_DATE='" + date + "' GIT_COMMITTER_DATE='" + date +
        "' git -c user.name=t -c user.email=t@localhost commit -qm x");
  };
  auto epoch = [&] {
    auto loaded = kiln::spec::load_definition(dir.path() / "image.yaml");
    EXPECT_TRUE(loaded.definition);
    return base_epoch_of(*loaded.definition);
  };
  const std::string steps = "steps:\n  - {name: a, shell: 'true'}\n";
  dir.write("image.yaml",
            "name: a\nversion: 1.0.0\nbase: {bootstrap: {packages: [less]}}\n" + steps);
  git("init -q");
  commit_at(1000000000);
  EXPECT_EQ(epoch(), 1000000000);
  // A new step, and the base respelt in block style with a comment: the base is unchanged.
  dir.write("image.yaml", "name: a\nversion: 1.0.1\nbase:\n  bootstrap: # the same\n"
                          "    packages:\n      - less\n" +
                              steps + "  - {name: b, packages: [tree]}\n");
  commit_at(1000086400);
  EXPECT_EQ(epoch(), 1000000000);
  // A changed base moves the epoch to that commit; an uncommitted change to the base takes the
  // newest commit's time.
  dir.write("image.yaml",
            "name: a\nversion: 1.0.2\nbase: {bootstrap: {packages: [less, jq]}}\n" + steps);
  commit_at(1000172800);
  EXPECT_EQ(epoch(), 1000172800);
  dir.write("image.yaml", "name: a\nversion: 1.0.2\nbase: {bootstrap: {packages: [jq]}}\n" + steps);
  EXPECT_EQ(epoch(), 1000172800);
}

class Layers : public ::testing::Test {
protected:
  void SetUp() override
  {
    dir_ = kiln::test::TempDir("layers");
    auto cache = LayerCache::open(dir_.path());
    ASSERT_TRUE(cache);
    cache_.emplace(std::move(*cache));
  }

  LayerMeta store(const std::string& key, const std::string& step, const std::string& content)
  {
    auto pending = cache_->begin(key);
    EXPECT_TRUE(pending);
    fs::create_directories(pending->tree / "etc");
    std::ofstream(pending->tree / "etc/file") << content;
    LayerMeta meta;
    meta.image = "img";
    meta.step = step;
    auto committed = cache_->commit(*pending, meta);
    EXPECT_TRUE(committed);
    return *committed;
  }

  kiln::test::TempDir dir_;
  std::optional<LayerCache> cache_;
};

TEST_F(Layers, a_committed_layer_is_found_with_its_digest)
{
  std::string key(64, 'a');
  auto stored = store(key, "tools", "hello");
  EXPECT_FALSE(fs::exists(dir_.path() / "layers" / (".tmp-" + key.substr(0, 16))));
  std::string problem;
  auto found = cache_->find(key, &problem);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->digest, stored.digest);
  EXPECT_EQ(found->step, "tools");
  EXPECT_TRUE(problem.empty());
  EXPECT_FALSE(cache_->find(std::string(64, 'b'), &problem));
}

TEST_F(Layers, a_truncated_layer_is_reported_and_removed)
{
  std::string key(64, 'c');
  store(key, "tools", "some content");
  fs::resize_file(dir_.path() / "layers" / key / "tree/etc/file", 2);
  std::string problem;
  EXPECT_FALSE(cache_->find(key, &problem));
  EXPECT_NE(problem.find("is damaged"), std::string::npos) << problem;
  EXPECT_FALSE(fs::exists(dir_.path() / "layers" / key));
}

TEST_F(Layers, a_cache_of_another_format_is_refused)
{
  kiln::test::TempDir other("other-cache");
  other.write("VERSION", "kiln-cache 99\n");
  auto cache = LayerCache::open(other.path());
  ASSERT_FALSE(cache);
  EXPECT_NE(cache.error().message.find("has another format"), std::string::npos);
}

TEST_F(Layers, prune_removes_least_recently_used_first_and_spares_held_entries)
{
  store(std::string(64, '1'), "old", std::string(20000, 'x'));
  store(std::string(64, '2'), "held", std::string(20000, 'y'));
  store(std::string(64, '3'), "new", std::string(20000, 'z'));
  // Make "old" the least recently used.
  struct timespec times[2] = {{1000, 0}, {1000, 0}};
  ::utimensat(AT_FDCWD, (dir_.path() / "layers" / std::string(64, '1') / "meta.json").c_str(),
              times, 0);
  cache_.reset(); // a finished build lets go of its locks
  int fd = ::open((dir_.path() / "locks" / (std::string(64, '2') + ".lock")).c_str(),
                  O_RDWR | O_CREAT, 0644);
  ASSERT_EQ(::flock(fd, LOCK_SH), 0);
  auto result = prune_cache(dir_.path(), PruneLimits{uint64_t{1}, std::nullopt}, false);
  ::close(fd);
  ASSERT_TRUE(result);
  ASSERT_EQ(result->removed.size(), 2u);
  EXPECT_EQ(result->removed[0].step, "old");
  ASSERT_EQ(result->skipped_in_use.size(), 1u);
  EXPECT_EQ(result->skipped_in_use[0].step, "held");
  EXPECT_TRUE(fs::exists(dir_.path() / "layers" / std::string(64, '2')));
}

TEST(DebCacheIndex, names_files_as_apt_does_and_reads_their_sha256)
{
  EXPECT_EQ(archive_name("zlib1g", "1:1.2.13.dfsg-1", "amd64"),
            "zlib1g_1%3a1.2.13.dfsg-1_amd64.deb");
  kiln::test::TempDir lists("lists");
  lists.write("m_dists_bookworm_main_binary-amd64_Packages",
              "Package: zlib1g\nVersion: 1:1.2.13.dfsg-1\nArchitecture: amd64\n"
              "Filename: pool/main/z/zlib/zlib1g_1.2.13.dfsg-1_amd64.deb\nSHA256: aaa\n\n"
              "Package: jq\nVersion: 1.6-2.1\nArchitecture: amd64\nSHA256: bbb\n");
  auto found = index_sha256({lists.path()}, {"zlib1g_1%3a1.2.13.dfsg-1_amd64.deb",
                                             "jq_1.6-2.1_amd64.deb", "other_1_all.deb"});
  EXPECT_EQ(found.size(), 2u);
  EXPECT_EQ(found["zlib1g_1%3a1.2.13.dfsg-1_amd64.deb"], "aaa");
  EXPECT_EQ(found["jq_1.6-2.1_amd64.deb"], "bbb");
}

TEST(DebCacheIndex, keeps_only_what_the_index_vouches_for_and_drops_what_changes)
{
  kiln::test::TempDir cache("debs");
  kiln::test::TempDir lists("lists");
  std::string good = "a real package";
  cache.write("jq_1.6_amd64.deb", good);
  cache.write("evil_1_amd64.deb", "not in any index");
  lists.write("x_Packages", "Package: jq\nVersion: 1.6\nArchitecture: amd64\nSHA256: " +
                                kiln::util::sha256_hex(good) + "\n");
  Quiet quiet;
  StepLog log("/dev/null", quiet);
  DebCache debs(cache.path());
  ASSERT_TRUE(debs.acquire(log)); // nothing recorded yet: both unverified files go
  EXPECT_FALSE(fs::exists(cache.path() / "jq_1.6_amd64.deb"));
  cache.write("jq_1.6_amd64.deb", good); // as apt would download it
  cache.write("evil_1_amd64.deb", "not in any index");
  ASSERT_TRUE(debs.record_new({lists.path()}, log));
  debs.release();
  EXPECT_TRUE(fs::exists(cache.path() / "jq_1.6_amd64.deb"));
  EXPECT_FALSE(fs::exists(cache.path() / "evil_1_amd64.deb"));
  cache.write("jq_1.6_amd64.deb", "tampered later!"); // a different content
  ASSERT_TRUE(debs.acquire(log));
  debs.release();
  EXPECT_FALSE(fs::exists(cache.path() / "jq_1.6_amd64.deb"));
}

TEST(Units, durations_and_sizes)
{
  using kiln::util::parse_duration;
  using kiln::util::parse_size;
  EXPECT_EQ(parse_duration("90s"), 90);
  EXPECT_EQ(parse_duration("7d"), 7 * 86400);
  EXPECT_EQ(parse_duration("2w"), 14 * 86400);
  EXPECT_FALSE(parse_duration("7"));
  EXPECT_FALSE(parse_duration("soon"));
  EXPECT_EQ(parse_size("1024"), 1024u);
  EXPECT_EQ(parse_size("20G"), 20ull << 30);
  EXPECT_EQ(parse_size("500m"), 500ull << 20);
  EXPECT_FALSE(parse_size("lots"));
}

} // namespace
