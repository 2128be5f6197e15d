#include "util/hash.hpp"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <openssl/hmac.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace kiln::util {

Sha256::Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free)
{
  EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr);
}

void Sha256::update(const void* data, size_t size)
{
  EVP_DigestUpdate(ctx_.get(), data, size);
}

static std::string to_hex(const unsigned char* bytes, unsigned int length)
{
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += hex[bytes[i] >> 4];
    out += hex[bytes[i] & 0xf];
  }
  return out;
}

std::string Sha256::hex_digest()
{
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx_.get(), digest, &length);
  return to_hex(digest, length);
}

std::string sha256_hex(std::string_view data)
{
  Sha256 hash;
  hash.update(data);
  return hash.hex_digest();
}

std::string md5_hex(std::string_view data)
{
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_md5(), nullptr);
  return to_hex(digest, length);
}

std::string to_hex(std::string_view bytes)
{
  return to_hex(reinterpret_cast<const unsigned char*>(bytes.data()),
                static_cast<unsigned int>(bytes.size()));
}

std::string hmac_sha256(std::string_view key, std::string_view data)
{
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &length);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data)
{
  return to_hex(hmac_sha256(key, data));
}

// Hashes bytes [from, to) of `fd`; a file that ends sooner ends the hash there.
static Status hash_range(int fd, off_t from, off_t to, std::vector<char>& buffer, Sha256& hash,
                         const std::filesystem::path& path)
{
  while (from < to) {
    size_t want =
        static_cast<size_t>(std::min<off_t>(to - from, static_cast<off_t>(buffer.size())));
    ssize_t n = ::pread(fd, buffer.data(), want, from);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return errno_error("cannot read", path.string(), errno, ExitCode::input);
    if (n == 0)
      break;
    hash.update(buffer.data(), static_cast<size_t>(n));
    from += n;
  }
  return ok_status();
}

// A sparse file's holes (a disk image is mostly holes) are hashed as the zeros they read as,
// without reading them.
static Status hash_file_into(const std::filesystem::path& path, Sha256& hash)
{
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno_error("cannot read", path.string(), errno, ExitCode::input);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return errno_error("cannot read", path.string(), err, ExitCode::input);
  }
  static const std::vector<char> zeros(1 << 20);
  std::vector<char> buffer(1 << 20);
  Status status = ok_status();
  off_t end = st.st_size;
  off_t pos = 0;
  while (status && pos < end) {
    off_t data = ::lseek(fd, pos, SEEK_DATA);
    if (data < 0)
      data = errno == ENXIO ? end : pos; // ENXIO: only a hole is left; else no hole support
    for (; pos < data; pos += std::min<off_t>(data - pos, static_cast<off_t>(zeros.size())))
      hash.update(zeros.data(), static_cast<size_t>(std::min<off_t>(data - pos, zeros.size())));
    if (pos >= end)
      break;
    off_t hole = ::lseek(fd, pos, SEEK_HOLE);
    if (hole < 0 || hole > end)
      hole = end;
    status = hash_range(fd, pos, hole, buffer, hash, path);
    pos = hole;
  }
  ::close(fd);
  return status;
}

Expected<std::string> sha256_file(const std::filesystem::path& path)
{
  Sha256 hash;
  KILN_TRY(hash_file_into(path, hash));
  return hash.hex_digest();
}

static Status hash_entry(const std::filesystem::path& path, const std::string& relative,
                         Sha256& hash)
{
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0)
    return errno_error("cannot read", path.string(), errno, ExitCode::input);
  // NUL separates fields so that no two different trees can produce the same byte stream.
  std::string header = relative + '\0' + std::to_string(st.st_mode & 0170777) + '\0';
  hash.update(header);
  if (S_ISREG(st.st_mode))
    return hash_file_into(path, hash);
  if (S_ISLNK(st.st_mode)) {
    std::error_code ec;
    hash.update(std::filesystem::read_symlink(path, ec).string());
    return ok_status();
  }
  if (!S_ISDIR(st.st_mode))
    return ok_status();
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(path, ec))
    names.push_back(entry.path().filename().string());
  if (ec)
    return errno_error("cannot list", path.string(), ec.value(), ExitCode::input);
  std::sort(names.begin(), names.end());
  for (const auto& name : names)
    KILN_TRY(hash_entry(path / name, relative.empty() ? name : relative + "/" + name, hash));
  return ok_status();
}

Expected<std::string> sha256_tree(const std::filesystem::path& path)
{
  Sha256 hash;
  KILN_TRY(hash_entry(path, "", hash));
  return hash.hex_digest();
}

} // namespace kiln::util
