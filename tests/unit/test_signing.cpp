// Ed25519 signing: a key pair signs and verifies; a changed message, another key or a damaged
// signature does not verify; key files are never overwritten.
#include "test_support.hpp"
#include "util/signing.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

namespace {

TEST(signing, a_signature_verifies_only_for_its_message_and_key)
{
  kiln::test::TempDir dir("signing");
  auto keys = kiln::util::generate_signing_key(dir.path(), "prod");
  ASSERT_TRUE(keys) << keys.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(keys->private_key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  std::string manifest = R"({"name":"linux-agent","version":"1.1.0"})";
  auto signature = kiln::util::sign(manifest, keys->private_key);
  ASSERT_TRUE(signature) << signature.error().message;
  EXPECT_EQ(signature->size(), 88u); // 64 bytes in base64
  EXPECT_TRUE(*kiln::util::verify_signature(manifest, *signature, keys->public_key));
  EXPECT_FALSE(*kiln::util::verify_signature(manifest + " ", *signature, keys->public_key));

  std::string damaged = *signature;
  damaged[10] = damaged[10] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(*kiln::util::verify_signature(manifest, damaged, keys->public_key));
  EXPECT_FALSE(*kiln::util::verify_signature(manifest, "not base64!", keys->public_key));

  auto other = kiln::util::generate_signing_key(dir.path(), "other");
  ASSERT_TRUE(other);
  EXPECT_FALSE(*kiln::util::verify_signature(manifest, *signature, other->public_key));
  EXPECT_NE(*kiln::util::key_fingerprint(keys->public_key),
            *kiln::util::key_fingerprint(other->public_key));
  EXPECT_EQ(kiln::util::key_fingerprint(keys->public_key)->rfind("ed25519:", 0), 0u);
  EXPECT_EQ(*kiln::util::key_fingerprint(keys->private_key),
            *kiln::util::key_fingerprint(keys->public_key));
}

TEST(signing, keys_are_never_overwritten_and_bad_keys_are_named)
{
  kiln::test::TempDir dir("signing");
  ASSERT_TRUE(kiln::util::generate_signing_key(dir.path(), "prod"));
  auto again = kiln::util::generate_signing_key(dir.path(), "prod");
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("already exists"), std::string::npos);

  auto garbage = dir.write("garbage.key", "-----BEGIN PRIVATE KEY-----\nnope\n");
  auto signed_with_garbage = kiln::util::sign("x", garbage);
  ASSERT_FALSE(signed_with_garbage);
  EXPECT_NE(signed_with_garbage.error().message.find(garbage.string()), std::string::npos);
  EXPECT_FALSE(kiln::util::sign("x", dir.path() / "missing.key"));
}

} // namespace
