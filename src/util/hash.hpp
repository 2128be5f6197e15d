// SHA-256 through OpenSSL: of bytes, of a file, of a whole folder tree.
#pragma once

#include "util/error.hpp"

#include <filesystem>
#include <memory>
#include <openssl/evp.h>
#include <string>
#include <string_view>

namespace kiln::util {

class Sha256 {
public:
  Sha256();
  void update(const void* data, size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  std::string hex_digest(); // finishes the hash; call once

private:
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx_;
};

std::string sha256_hex(std::string_view data);
// MD5, only to compare with what S3 servers give as an object's ETag: never for security.
std::string md5_hex(std::string_view data);
std::string hmac_sha256_hex(std::string_view key, std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data); // the 32 bytes
std::string to_hex(std::string_view bytes);                           // lower-case
Expected<std::string> sha256_file(const std::filesystem::path& path);

// A digest of a file or a folder: every entry's relative path, type, permission bits and content
// (or link target), in sorted order. Owners and times are left out: they do not survive a git
// checkout, and a definition's inputs are compared by content.
Expected<std::string> sha256_tree(const std::filesystem::path& path);

} // namespace kiln::util
