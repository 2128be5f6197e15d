// Helpers shared by the unit tests.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace kiln::test {

// A temporary folder removed with the object.
class TempDir {
public:
  TempDir() = default;
  explicit TempDir(const std::string& tag)
  {
    std::string pattern = (std::filesystem::temp_directory_path() / ("kiln-" + tag + "-XXXXXX"));
    path_ = ::mkdtemp(pattern.data());
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(TempDir&& other) noexcept
  {
    std::swap(path_, other.path_);
    return *this;
  }
  ~TempDir()
  {
    if (!path_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(path_, ec);
    }
  }

  const std::filesystem::path& path() const { return path_; }

  std::filesystem::path write(const std::string& relative, const std::string& content)
  {
    auto file = path_ / relative;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << content;
    return file;
  }

  void symlink(const std::string& relative, const std::string& target)
  {
    auto link = path_ / relative;
    std::filesystem::create_directories(link.parent_path());
    std::filesystem::create_symlink(target, link);
  }

private:
  std::filesystem::path path_;
};

// SIZE bytes that do not compress, the same for the same SEED.
inline std::string noise(size_t size, uint32_t seed)
{
  std::string data(size, '\0');
  uint32_t x = seed;
  for (auto& c : data) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return data;
}

} // namespace kiln::test
