// Ed25519 signatures with OpenSSL: key pairs in PEM files, detached signatures in base64. Used to
// sign what the store publishes (version manifests, provenance) and to check it on pull.
#pragma once

#include "util/error.hpp"

#include <filesystem>
#include <string>
#include <string_view>

namespace kiln::util {

struct KeyFiles {
  std::filesystem::path private_key; // PKCS#8 PEM, mode 0600
  std::filesystem::path public_key;  // SubjectPublicKeyInfo PEM
};

// Generates a new key pair into `dir` as NAME.key and NAME.pub; refuses to overwrite either.
Expected<KeyFiles> generate_signing_key(const std::filesystem::path& dir, const std::string& name);

// The base64 signature of `message` with the private key in `private_key`.
Expected<std::string> sign(std::string_view message, const std::filesystem::path& private_key);

struct KeyedSignature {
  std::string keyid; // key_fingerprint of the key
  std::string sig;   // base64
};

// sign(), with the fingerprint of the key that made it.
Expected<KeyedSignature> sign_keyed(std::string_view message,
                                    const std::filesystem::path& private_key);

// True when `signature` (base64) is the signature of `message` by the key in `public_key`.
Expected<bool> verify_signature(std::string_view message, std::string_view signature,
                                const std::filesystem::path& public_key);

// "ed25519:" and the first 16 hex digits of the sha256 of the public key's DER form; from either
// file of a pair.
Expected<std::string> key_fingerprint(const std::filesystem::path& key_file);

} // namespace kiln::util
