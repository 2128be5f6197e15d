#include "util/signing.hpp"

#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/strings.hpp"

#include <memory>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <vector>

namespace kiln::util {

namespace fs = std::filesystem;

namespace {

using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;
using DigestContext = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

std::string openssl_error()
{
  unsigned long code = ERR_get_error();
  if (code == 0)
    return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

Error key_error(const std::string& what, const fs::path& file)
{
  return make_error(ExitCode::input, what + " " + file.string() + ": " + openssl_error(),
                    "make a key pair with: kiln key generate");
}

Expected<Key> read_key(const fs::path& file, bool is_private)
{
  auto pem = read_file(file);
  if (!pem)
    return std::move(pem).error();
  // The two key files are easy to swap: say which one was given instead of OpenSSL's words.
  bool holds_private = pem->find("PRIVATE KEY-----") != std::string::npos;
  if (!is_private && holds_private)
    return make_error(ExitCode::input, file.string() + " is a private key, not a public key",
                      "give the .pub file that kiln key generate wrote beside it; keep the "
                      "private key on the machine that signs");
  if (is_private && !holds_private && pem->find("PUBLIC KEY-----") != std::string::npos)
    return make_error(ExitCode::input, file.string() + " is a public key, not a private key",
                      "give the .key file that kiln key generate wrote beside it");
  Bio bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())), BIO_free);
  EVP_PKEY* key = is_private ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
                             : PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (!key)
    return key_error(is_private ? "cannot read the private key" : "cannot read the public key",
                     file);
  if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(key);
    return make_error(ExitCode::input, file.string() + " is not an Ed25519 key",
                      "make a key pair with: kiln key generate");
  }
  return Key(key, EVP_PKEY_free);
}

std::string pem_of(EVP_PKEY* key, bool is_private)
{
  Bio bio(BIO_new(BIO_s_mem()), BIO_free);
  if (is_private)
    PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  else
    PEM_write_bio_PUBKEY(bio.get(), key);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

} // namespace

Expected<KeyFiles> generate_signing_key(const fs::path& dir, const std::string& name)
{
  KeyFiles files{dir / (name + ".key"), dir / (name + ".pub")};
  for (const auto& file : {files.private_key, files.public_key}) {
    if (fs::exists(file))
      return make_error(ExitCode::usage, file.string() + " already exists",
                        "keep the existing key, or remove it first if you mean to replace it");
  }
  EVP_PKEY* raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (!raw)
    return make_error(ExitCode::environment, "cannot generate an Ed25519 key: " + openssl_error());
  Key key(raw, EVP_PKEY_free);
  KILN_TRY(make_dirs(dir));
  KILN_TRY(write_file_atomic(files.private_key, pem_of(key.get(), true), 0600));
  KILN_TRY(write_file_atomic(files.public_key, pem_of(key.get(), false), 0644));
  return files;
}

Expected<std::string> sign(std::string_view message, const fs::path& private_key)
{
  auto key = read_key(private_key, true);
  if (!key)
    return std::move(key).error();
  DigestContext context(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  unsigned char signature[64];
  size_t length = sizeof signature;
  if (EVP_DigestSignInit(context.get(), nullptr, nullptr, nullptr, key->get()) != 1 ||
      EVP_DigestSign(context.get(), signature, &length,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1)
    return make_error(ExitCode::build_failed, "cannot sign: " + openssl_error());
  return base64_encode(std::string_view(reinterpret_cast<char*>(signature), length));
}

Expected<bool> verify_signature(std::string_view message, std::string_view signature,
                                const fs::path& public_key)
{
  auto key = read_key(public_key, false);
  if (!key)
    return std::move(key).error();
  std::optional<std::string> raw = base64_decode(signature);
  if (!raw || raw->size() != 64)
    return false;
  DigestContext context(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (EVP_DigestVerifyInit(context.get(), nullptr, nullptr, nullptr, key->get()) != 1)
    return make_error(ExitCode::build_failed, "cannot verify: " + openssl_error());
  int result = EVP_DigestVerify(context.get(), reinterpret_cast<const unsigned char*>(raw->data()),
                                raw->size(), reinterpret_cast<const unsigned char*>(message.data()),
                                message.size());
  ERR_clear_error();
  return result == 1;
}

Expected<std::string> key_fingerprint(const fs::path& key_file)
{
  // A private key holds its public half: both files of a pair give the same fingerprint.
  auto pem = read_file(key_file);
  if (!pem)
    return std::move(pem).error();
  auto key = read_key(key_file, pem->find("PRIVATE KEY") != std::string::npos);
  if (!key)
    return std::move(key).error();
  unsigned char* der = nullptr;
  int length = i2d_PUBKEY(key->get(), &der);
  if (length <= 0)
    return make_error(ExitCode::build_failed, "cannot encode the public key: " + openssl_error());
  std::string digest = sha256_hex(std::string_view(reinterpret_cast<char*>(der), length));
  OPENSSL_free(der);
  return "ed25519:" + digest.substr(0, 16);
}

Expected<KeyedSignature> sign_keyed(std::string_view message,
                                    const std::filesystem::path& private_key)
{
  auto sig = sign(message, private_key);
  if (!sig)
    return std::move(sig).error();
  auto keyid = key_fingerprint(private_key);
  if (!keyid)
    return std::move(keyid).error();
  return KeyedSignature{std::move(*keyid), std::move(*sig)};
}

} // namespace kiln::util
