#include "sandbox/mounts.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace kiln::sandbox {

namespace fs = std::filesystem;

std::string failure(const std::string& what, const fs::path& where)
{
  return "sandbox: cannot " + what + " " + where.string() + ": " + std::strerror(errno) +
         (errno == EPERM ? " (kiln build must run as root)" : "");
}

std::string mount_fs(const char* type, const fs::path& target, unsigned long flags,
                     const char* data)
{
  ::mkdir(target.c_str(), 0755);
  if (::mount(type, target.c_str(), type, flags, data) != 0)
    return failure(std::string("mount ") + type + " on", target);
  return {};
}

std::string bind(const fs::path& source, const fs::path& target, bool read_only)
{
  struct stat st {};
  if (::stat(source.c_str(), &st) != 0)
    return failure("find", source);
  if (S_ISDIR(st.st_mode)) {
    std::error_code ec;
    fs::create_directories(target, ec);
  } else if (::access(target.c_str(), F_OK) != 0) {
    // Only a missing target is created: opening an existing one for writing would copy it up
    // into the overlay's upper layer.
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0)
      ::close(fd);
  }
  if (::mount(source.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
    return failure("bind-mount " + source.string() + " on", target);
  if (read_only && ::mount(nullptr, target.c_str(), nullptr,
                           MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr) != 0)
    return failure("make read-only", target);
  return {};
}

std::string make_dev(const fs::path& root)
{
  fs::path dev = root / "dev";
  if (auto error = mount_fs("tmpfs", dev, MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
      !error.empty())
    return error;
  for (const char* node : {"null", "zero", "full", "random", "urandom", "tty"}) {
    if (auto error = bind(fs::path("/dev") / node, dev / node, false); !error.empty())
      return error;
  }
  if (auto error = mount_fs("devpts", dev / "pts", MS_NOSUID | MS_NOEXEC,
                            "newinstance,ptmxmode=0666,mode=0620");
      !error.empty())
    return error;
  if (auto error = mount_fs("tmpfs", dev / "shm", MS_NOSUID | MS_NODEV, "mode=1777");
      !error.empty())
    return error;
  const std::pair<const char*, const char*> links[] = {{"pts/ptmx", "ptmx"},
                                                       {"/proc/self/fd", "fd"},
                                                       {"/proc/self/fd/0", "stdin"},
                                                       {"/proc/self/fd/1", "stdout"},
                                                       {"/proc/self/fd/2", "stderr"}};
  for (const auto& [target, name] : links) {
    if (::symlink(target, (dev / name).c_str()) != 0)
      return failure("create", dev / name);
  }
  return {};
}

void Fd::reset()
{
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
}

std::string pivot_into(const fs::path& root)
{
  // pivot_root needs the new root to be a mount point of its own.
  if (::mount(root.c_str(), root.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
    return failure("bind-mount the tree on itself at", root);
  if (::chdir(root.c_str()) != 0)
    return failure("enter", root);
  if (::syscall(SYS_pivot_root, ".", ".") != 0)
    return failure("pivot_root into", root);
  if (::umount2(".", MNT_DETACH) != 0)
    return failure("detach the host's root from", root);
  if (::chdir("/") != 0)
    return failure("enter", "/");
  return {};
}

std::string check_mount_point(const fs::path& root, const std::string& relative)
{
  fs::path at = root;
  for (const auto& part : fs::path(relative).relative_path()) {
    at /= part;
    struct stat st {};
    if (::lstat(at.c_str(), &st) == 0 && S_ISLNK(st.st_mode))
      return "sandbox: the image's /" + at.lexically_relative(root).string() +
             " is a symbolic link, where kiln mounts " +
             fs::path(relative).relative_path().string() + "; make it a folder or a file";
  }
  return {};
}

} // namespace kiln::sandbox
