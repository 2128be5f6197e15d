// The suite every store backend must pass: one TEST_P per promise of store/store.hpp, run for
// each backend. A new backend adds one line to the table at the end.
#include "fake_keys.hpp"
#include "store/local/local_store.hpp"
#include "store/memory/memory_store.hpp"
#include "store/s3/s3_store.hpp"
#include "test_support.hpp"
#include "util/hash.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <gtest/gtest.h>
#include <random>
#include <thread>
#include <tuple>

namespace {

using kiln::store::Access;
using kiln::store::Store;

// A backend under test: each call of `user` opens another user of the same store, as another
// process would.
struct Backend {
  std::string name;
  std::function<std::function<std::unique_ptr<Store>()>(const std::filesystem::path& dir)> make;
};

// gtest names a parameter in its output by this.
void PrintTo(const Backend& backend, std::ostream* out)
{
  *out << backend.name;
}

class StoreBackend : public ::testing::TestWithParam<Backend> {
protected:
  void SetUp() override
  {
    dir_ = kiln::test::TempDir("backend");
    user_ = GetParam().make(dir_.path());
    if (!user_)
      GTEST_SKIP() << GetParam().name << ": no test server (scripts/test.sh starts one)";
  }
  std::unique_ptr<Store> user() { return user_(); }

  kiln::test::TempDir dir_;
  std::function<std::unique_ptr<Store>()> user_;
};

std::string digest_of(const std::string& bytes)
{
  return kiln::util::sha256_hex(bytes);
}

TEST_P(StoreBackend, blobs_are_kept_by_digest_and_known_to_others_once_synced)
{
  auto store = user();
  std::string bytes = "a chunk of a rootfs";
  std::string digest = digest_of(bytes);
  EXPECT_FALSE(*store->has_blob(digest));
  ASSERT_TRUE(store->put_blob(digest, bytes));
  ASSERT_TRUE(store->put_blob(digest, bytes)); // again: a no-op
  EXPECT_TRUE(*store->has_blob(digest));
  ASSERT_TRUE(store->sync());
  EXPECT_TRUE(*user()->has_blob(digest));
  EXPECT_EQ(*user()->get_blob(digest), bytes);
  auto listed = *store->list_blobs();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].digest, digest);
  EXPECT_EQ(listed[0].size, static_cast<int64_t>(bytes.size()));
  EXPECT_FALSE(store->has_blob("not-a-digest"));
  EXPECT_FALSE(store->put_blob("../../etc/passwd", "x"));

  ASSERT_TRUE(store->delete_blob(digest));
  EXPECT_FALSE(*store->has_blob(digest));
  EXPECT_FALSE(store->get_blob(digest));
}

TEST_P(StoreBackend, blobs_are_listed_in_digest_order)
{
  auto store = user();
  std::vector<std::string> digests;
  for (int i = 0; i < 20; ++i) {
    std::string bytes = "blob " + std::to_string(i);
    digests.push_back(digest_of(bytes));
    ASSERT_TRUE(store->put_blob(digests.back(), bytes));
  }
  ASSERT_TRUE(store->sync());
  std::sort(digests.begin(), digests.end());
  auto blobs = user()->list_blobs();
  ASSERT_TRUE(blobs);
  std::vector<std::string> listed;
  for (const auto& entry : *blobs)
    listed.push_back(entry.digest);
  EXPECT_EQ(listed, digests);
}

// What a user put and never synced (an interrupted publish) is unindexed litter for gc.
TEST_P(StoreBackend, blobs_never_synced_are_listed_as_unindexed)
{
  std::string kept = digest_of("kept"), left = digest_of("left");
  {
    auto publish = user();
    ASSERT_TRUE(publish->put_blob(kept, "kept"));
    ASSERT_TRUE(publish->sync());
    auto interrupted = user();
    ASSERT_TRUE(interrupted->put_blob(left, "left"));
  } // the interrupted publish is gone without its sync
  auto gc = user();
  auto litter = gc->list_unindexed();
  ASSERT_TRUE(litter);
  ASSERT_EQ(litter->size(), 1u);
  ASSERT_TRUE(gc->remove_unindexed((*litter)[0]));
  EXPECT_TRUE(gc->list_unindexed()->empty());
  EXPECT_TRUE(*gc->has_blob(kept));
  EXPECT_FALSE(*gc->has_blob(left));
  EXPECT_FALSE(gc->remove_unindexed("../../etc/passwd"));
}

// Publishes share the store; gc has it alone: it waits until no publish holds the lock.
TEST_P(StoreBackend, an_exclusive_lock_waits_for_the_shared_ones)
{
  auto publisher = user(), other = user(), collector = user();
  auto shared = publisher->lock(Access::shared);
  ASSERT_TRUE(shared);
  auto second = other->lock(Access::shared); // shared with another publish
  ASSERT_TRUE(second);
  std::atomic<bool> collected = false;
  std::thread gc([&] {
    auto exclusive = collector->lock(Access::exclusive);
    collected = bool(exclusive);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(collected);
  shared->reset();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(collected); // one publish still holds it
  second->reset();
  gc.join();
  EXPECT_TRUE(collected);
}

TEST_P(StoreBackend, documents_are_created_once_and_replaced_only_from_what_was_read)
{
  auto store = user();
  auto& s = *store;
  EXPECT_FALSE(s.get_document("images/agent/channels/prod")->has_value());
  EXPECT_TRUE(*s.create_document("images/agent/channels/prod", "1.0.0"));
  EXPECT_FALSE(*user()->create_document("images/agent/channels/prod", "9.9.9"));
  EXPECT_EQ(**user()->get_document("images/agent/channels/prod"), "1.0.0");

  EXPECT_FALSE(*s.replace_document("images/agent/channels/prod", "0.9.0", "1.1.0"));
  EXPECT_TRUE(*s.replace_document("images/agent/channels/prod", "1.0.0", "1.1.0"));
  EXPECT_EQ(**s.get_document("images/agent/channels/prod"), "1.1.0");
  EXPECT_TRUE(*s.replace_document("images/agent/channels/dev", std::nullopt, "1.2.0"));
  EXPECT_FALSE(*s.replace_document("images/agent/channels/dev", std::nullopt, "1.3.0"));
  EXPECT_FALSE(*s.replace_document("images/agent/channels/none", "1.0.0", "1.3.0"));

  ASSERT_TRUE(s.create_document("images/a%b/versions/1", "x"));
  ASSERT_TRUE(s.create_document("images/a_b/versions/1", "x"));
  EXPECT_EQ(*user()->list_documents("images/agent/"),
            (std::vector<std::string>{"images/agent/channels/dev", "images/agent/channels/prod"}));
  EXPECT_EQ(s.list_documents("images/a%")->size(), 1u); // a prefix, not a pattern
  EXPECT_EQ(s.list_documents("images/a_")->size(), 1u);
  ASSERT_TRUE(s.delete_document("images/agent/channels/dev"));
  EXPECT_EQ(s.list_documents("images/agent/")->size(), 1u);
  EXPECT_FALSE(user()->get_document("images/agent/channels/dev")->has_value());
}

// Writers racing for the same keys: each key is created exactly once.
TEST_P(StoreBackend, writers_creating_one_key_get_one_winner)
{
  std::atomic<int> wins = 0, failures = 0;
  std::vector<std::thread> writers;
  for (int writer = 0; writer < 3; ++writer) {
    writers.emplace_back([&, writer] {
      auto store = user();
      for (int i = 0; i < 30; ++i) {
        auto created = store->create_document("key-" + std::to_string(i), std::to_string(writer));
        if (!created)
          ++failures;
        else if (*created)
          ++wins;
      }
    });
  }
  for (auto& writer : writers)
    writer.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(wins, 30);
}

// Compare-and-swap from several writers: no update is lost.
TEST_P(StoreBackend, writers_replacing_one_document_lose_no_update)
{
  ASSERT_TRUE(*user()->create_document("counter", "0"));
  std::vector<std::thread> writers;
  for (int writer = 0; writer < 3; ++writer) {
    writers.emplace_back([&] {
      auto store = user();
      for (int i = 0; i < 20; ++i) {
        for (;;) {
          auto now = store->get_document("counter");
          ASSERT_TRUE(now && *now);
          std::string next = std::to_string(std::stoi(**now) + 1);
          auto replaced = store->replace_document("counter", **now, next);
          ASSERT_TRUE(replaced);
          if (*replaced)
            break;
        }
      }
    });
  }
  for (auto& writer : writers)
    writer.join();
  EXPECT_EQ(**user()->get_document("counter"), "60");
}

const Backend kBackends[] = {
    {"local",
     [](const std::filesystem::path& dir) -> std::function<std::unique_ptr<Store>()> {
       return [dir] { return std::unique_ptr<Store>(kiln::store::LocalStore::open(dir).value()); };
     }},
    {"memory",
     [](const std::filesystem::path&) -> std::function<std::unique_ptr<Store>()> {
       auto shared = std::make_shared<kiln::store::MemoryStore::Shared>();
       return [shared] { return std::unique_ptr<Store>(new kiln::store::MemoryStore(shared)); };
     }},
};

// The S3 backend against the server the test script starts (KILN_TEST_S3_ENDPOINT, a bucket
// named kiln), each test in a prefix of its own. Packs of one byte, so that every put uploads
// and an unsynced one is litter. "s3" writes documents under the fallback lease, as on a
// server that ignores conditional writes; "s3-conditional" with If-None-Match and If-Match,
// through the test proxy (KILN_TEST_S3_CAS_ENDPOINT) that honours them.
std::function<std::unique_ptr<Store>()> s3_users(const char* endpoint_variable, bool conditional)
{
  const char* endpoint = std::getenv(endpoint_variable);
  if (!endpoint || !*endpoint)
    return nullptr;
  kiln::store::s3::S3StoreSettings settings;
  settings.s3.endpoint = endpoint;
  settings.pack_size = 1;
  settings.store_lease = {60, 30, 0.05};
  settings.document_lease = {10, 60, 0.02};
  settings.conditional_writes = conditional;
  std::random_device random;
  std::string url = "s3://kiln/test-" + std::to_string(random()) + std::to_string(random()) + "/";
  auto credentials = kiln::test::fake_keys("S3RVER", "S3RVER");
  auto open = [=](kiln::store::OpenMode mode) {
    return kiln::store::s3::S3Store::open(url, mode, settings, credentials, "us-east-1");
  };
  if (auto created = open(kiln::store::OpenMode::create); !created) // before users race
    ADD_FAILURE() << created.error().message;
  return [=] {
    auto store = open(kiln::store::OpenMode::existing);
    if (!store)
      ADD_FAILURE() << store.error().message;
    return std::unique_ptr<Store>(std::move(*store));
  };
}

std::vector<Backend> backends()
{
  std::vector<Backend> all(std::begin(kBackends), std::end(kBackends));
  for (auto [name, variable, conditional] :
       {std::tuple{"s3", "KILN_TEST_S3_ENDPOINT", false},
        std::tuple{"s3_conditional", "KILN_TEST_S3_CAS_ENDPOINT", true}}) {
    all.push_back({name, [variable, conditional](const std::filesystem::path&) {
                     auto users = s3_users(variable, conditional);
                     if (!users)
                       return std::function<std::unique_ptr<Store>()>();
                     return users;
                   }});
  }
  return all;
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreBackend, ::testing::ValuesIn(backends()),
                         [](const ::testing::TestParamInfo<Backend>& param) {
                           return param.param.name;
                         });

} // namespace
