#include "config/settings.hpp"
#include "test_support.hpp"

#include <cstdlib>
#include <gtest/gtest.h>

namespace {

using kiln::config::Layer;

// Runs config::load with the system and user files in a temporary folder and no KILN_*
// variable but those a test sets.
class Config : public ::testing::Test {
protected:
  void SetUp() override
  {
    dir_ = kiln::test::TempDir("config");
    for (const char* name : {"KILN_STORE", "KILN_SIGNING_KEY", "KILN_PUBLIC_KEY", "KILN_CACHE_DIR",
                             "KILN_MAX_AGE", "KILN_CATALOG", "KILN_PROGRESS", "KILN_CACHE_FROM",
                             "KILN_CACHE_TO", "KILN_CACHE_SECRET_KEY"}) {
      if (const char* value = std::getenv(name))
        saved_.emplace_back(name, value);
      ::unsetenv(name);
    }
    ::setenv("KILN_SYSTEM_CONFIG", (dir_.path() / "etc/kiln.yaml").c_str(), 1);
    ::setenv("XDG_CONFIG_HOME", (dir_.path() / "home").c_str(), 1);
  }
  void TearDown() override
  {
    ::unsetenv("KILN_SYSTEM_CONFIG");
    ::unsetenv("XDG_CONFIG_HOME");
    for (const char* name : {"KILN_STORE", "KILN_MAX_AGE", "KILN_CACHE_TO"})
      ::unsetenv(name);
    for (const auto& [name, value] : saved_)
      ::setenv(name.c_str(), value.c_str(), 1);
  }

  kiln::Expected<kiln::config::Settings> load(const std::filesystem::path& file,
                                              std::vector<kiln::config::Flag> flags = {})
  {
    return kiln::config::load({file, std::move(flags)});
  }

  std::string error_of(const std::string& text)
  {
    auto loaded = load(dir_.write("bad.yaml", text));
    EXPECT_FALSE(loaded) << text;
    return loaded ? std::string() : loaded.error().message;
  }

  kiln::test::TempDir dir_;
  std::vector<std::pair<std::string, std::string>> saved_;
};

TEST_F(Config, a_repository_file_with_its_errors)
{
  auto file = dir_.write("kiln.yaml", "store: store\nsigning: {key: k.key}\n"
                                      "channels:\n  - name: canary\n  - name: live\n"
                                      "    requires: {been_in: [canary]}\n"
                                      "retention: {keep_newest: 2, keep_younger_than: 3d}\n"
                                      "cache: {dir: cache, max_age: 2d}\n");
  auto settings = load(file);
  ASSERT_TRUE(settings) << settings.error().message;
  const auto& config = settings->release;
  EXPECT_EQ(config.store, (dir_.path() / "store").string());
  EXPECT_EQ(config.signing_key, dir_.path() / "k.key");
  ASSERT_EQ(config.channels.size(), 2u);
  EXPECT_FALSE(config.channel("prod"));
  EXPECT_EQ(config.retention.keep_newest, 2);
  EXPECT_EQ(config.retention.keep_younger_than, 3 * 86400);
  EXPECT_EQ(settings->cache_dir, dir_.path() / "cache");
  EXPECT_EQ(settings->max_age, "2d");

  EXPECT_NE(error_of("stor: x\n").find("bad.yaml:1: unknown key 'stor' in kiln.yaml"),
            std::string::npos);
  EXPECT_NE(error_of("channels:\n  - name: prod\n    requires: {been_in: [staging]}\n")
                .find("requires 'staging', which is not listed before it"),
            std::string::npos);
  EXPECT_NE(error_of("channels:\n  - name: a\n  - name: a\n").find("listed twice"),
            std::string::npos);
  EXPECT_NE(error_of("retention: {keep_younger_than: soon}\n").find("a duration"),
            std::string::npos);
  EXPECT_NE(error_of("cache: {max_age: often}\n").find("a duration"), std::string::npos);
  EXPECT_NE(error_of("channels: [\n").find("bad.yaml:"), std::string::npos);
  // kiln.yaml is read within the same bounds as a definition: aliases cannot blow it up.
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'h'; ++c) {
    std::string prev(1, static_cast<char>(c - 1));
    bomb += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i)
      bomb += (i ? ", *" : "*") + prev;
    bomb += "]\n";
  }
  EXPECT_NE(error_of(bomb).find("expands to more than 100000 values"), std::string::npos);
  EXPECT_NE(error_of("store: caf\xe9\n").find("bad.yaml:1:11: the text is not valid UTF-8"),
            std::string::npos);
}

// The shared cache: stores as locations (a folder relative to the file), the secret key as a path.
TEST_F(Config, the_shared_cache)
{
  auto file = dir_.write("kiln.yaml", "cache:\n  from: s3://ci-cache/kiln\n  to: shared\n"
                                      "  secret_key: keys/cache-secret.key\n");
  auto settings = load(file);
  ASSERT_TRUE(settings) << settings.error().message;
  EXPECT_EQ(settings->cache_from, "s3://ci-cache/kiln");
  EXPECT_EQ(settings->cache_to, (dir_.path() / "shared").string());
  EXPECT_EQ(settings->cache_secret_key, dir_.path() / "keys/cache-secret.key");
  EXPECT_EQ(settings->origins["cache.from"].layer, Layer::repository);
  ::setenv("KILN_CACHE_TO", "s3://other/cache", 1);
  settings = load(file, {{"cache.from", "/srv/cache", "--cache-from"}});
  ASSERT_TRUE(settings);
  EXPECT_EQ(settings->cache_to, "s3://other/cache");
  EXPECT_EQ(settings->origins["cache.to"].where, "KILN_CACHE_TO");
  EXPECT_EQ(settings->cache_from, "/srv/cache");
  EXPECT_EQ(settings->origins["cache.from"].where, "--cache-from");
  EXPECT_NE(error_of("cache: {form: x}\n").find("unknown key 'form'"), std::string::npos);
}

// Each layer replaces the one before it, and every value says where it came from.
TEST_F(Config, layers_in_order_and_their_origins)
{
  dir_.write("etc/kiln.yaml", "store: /srv/system-store\ncache: {max_age: 3d}\n"
                              "retention: {keep_newest: 9}\n");
  dir_.write("home/kiln/kiln.yaml", "store: /srv/user-store\nsigning: {public_key: user.pub}\n");
  auto repository = dir_.write("repo/kiln.yaml", "store: repo-store\n");

  auto settings = load(repository);
  ASSERT_TRUE(settings) << settings.error().message;
  EXPECT_EQ(settings->release.store, (dir_.path() / "repo/repo-store").string());
  EXPECT_EQ(settings->origins["store"].layer, Layer::repository);
  EXPECT_EQ(settings->release.public_key, dir_.path() / "home/kiln/user.pub");
  EXPECT_EQ(settings->origins["signing.public_key"].layer, Layer::user);
  EXPECT_EQ(settings->max_age, "3d");
  EXPECT_EQ(settings->origins["cache.max_age"].layer, Layer::system);
  EXPECT_EQ(settings->release.retention.keep_newest, 9);
  EXPECT_EQ(settings->origins.count("channels"), 0u); // built-in
  EXPECT_EQ(settings->files.size(), 3u);

  ::setenv("KILN_STORE", "/srv/env-store", 1);
  ::setenv("KILN_MAX_AGE", "12h", 1);
  settings = load(repository);
  ASSERT_TRUE(settings);
  EXPECT_EQ(settings->release.store, "/srv/env-store");
  EXPECT_EQ(settings->origins["store"].where, "KILN_STORE");
  EXPECT_EQ(settings->max_age, "12h");

  settings = load(repository, {{"store", "/srv/flag-store", "--store"}, {"cache.dir", "", "--x"}});
  ASSERT_TRUE(settings);
  EXPECT_EQ(settings->release.store, "/srv/flag-store");
  EXPECT_EQ(settings->origins["store"].layer, Layer::flag);
  EXPECT_EQ(settings->origins["store"].where, "--store");
  EXPECT_NE(settings->origins["cache.dir"].layer, Layer::flag); // an empty flag is not given

  auto shown = kiln::config::to_json(*settings);
  bool found = false;
  for (const auto& entry : shown["settings"]) {
    if (entry["key"] == "store") {
      found = true;
      EXPECT_EQ(entry["value"], "/srv/flag-store");
      EXPECT_EQ(entry["origin"], "flag");
    }
  }
  EXPECT_TRUE(found);

  ::setenv("KILN_MAX_AGE", "soon", 1);
  auto bad = load(repository);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("KILN_MAX_AGE 'soon' is not a duration"), std::string::npos);
}

} // namespace
