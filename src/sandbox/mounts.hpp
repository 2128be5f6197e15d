// Mount helpers shared by the sandbox's files. Each returns "" or a message naming what failed.
#pragma once

#include <filesystem>
#include <string>

namespace kiln::sandbox {

// A descriptor closed when it goes out of scope (or by reset()).
class Fd {
public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  void reset();

private:
  int fd_;
};

std::string failure(const std::string& what, const std::filesystem::path& where);

// Mounts a filesystem of `type` on `target` (made when missing).
std::string mount_fs(const char* type, const std::filesystem::path& target, unsigned long flags,
                     const char* data);

// Binds `source` (a file or folder) on `target`, read-only when asked.
std::string bind(const std::filesystem::path& source, const std::filesystem::path& target,
                 bool read_only);

// A minimal /dev below `root`: null, zero, full, random, urandom, tty, a private devpts and shm.
std::string make_dev(const std::filesystem::path& root);

// Makes `root` the root of the mount namespace and detaches the old root, so that no path and no
// chroot trick leads back to it.
std::string pivot_into(const std::filesystem::path& root);

// Refuses a mount point below `root` that the image made a symbolic link: the mount would land
// where the link points, outside the tree.
std::string check_mount_point(const std::filesystem::path& root, const std::string& relative);

} // namespace kiln::sandbox
