#include "sandbox/sandbox.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln::sandbox {

namespace fs = std::filesystem;

namespace {

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

// The host's DNS settings, so that package and artifact steps reach the network. Only a regular
// file is covered; a tree whose resolv.conf is a link manages DNS itself.
std::string bind_resolv_conf(const fs::path& root)
{
  struct stat st {};
  fs::path target = root / "etc/resolv.conf";
  if (::lstat(target.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return {};
  if (::access("/etc/resolv.conf", R_OK) != 0)
    return {};
  return bind("/etc/resolv.conf", target, true);
}

std::string mount_overlay(const Overlay& overlay, const fs::path& root)
{
  // Relative layer paths resolve against the working directory of the mounting process.
  if (::chdir(overlay.base_dir.c_str()) != 0)
    return failure("enter", overlay.base_dir);
  std::string options = "lowerdir=";
  for (size_t i = 0; i < overlay.lower.size(); ++i)
    options += (i ? ":" : "") + overlay.lower[i];
  if (!overlay.upper.empty())
    options += ",upperdir=" + overlay.upper + ",workdir=" + overlay.work;
  if (overlay.upper.empty() && overlay.lower.size() == 1) {
    // overlayfs needs two layers for a read-only view; one layer is a read-only bind mount.
    if (::mount(overlay.lower[0].c_str(), root.c_str(), nullptr, MS_BIND, nullptr) != 0)
      return failure("bind-mount " + overlay.lower[0] + " on", root);
    if (::mount(nullptr, root.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0)
      return failure("make read-only", root);
    return {};
  }
  if (::mount("overlay", root.c_str(), "overlay", 0, options.c_str()) != 0) {
    std::string why =
        failure("mount overlayfs of layers in " + overlay.base_dir.string() + " on", root);
    return why + " (the cache folder must be on a filesystem that can hold overlayfs layers, "
                 "such as ext4, xfs, btrfs or tmpfs: choose one with --cache-dir or "
                 "KILN_CACHE_DIR)";
  }
  return {};
}

std::string private_mounts(const RunOptions& options)
{
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    return failure("make mounts private under", "/");
  if (options.overlay)
    return mount_overlay(*options.overlay, options.root);
  return {};
}

std::string write_secrets(const fs::path& root,
                          const std::vector<std::pair<std::string, std::string>>& secrets)
{
  if (secrets.empty())
    return {};
  fs::path dir = root / "run/secrets";
  if (::mkdir(dir.c_str(), 0700) != 0)
    return failure("create", dir);
  for (const auto& [name, value] : secrets) {
    fs::path file = dir / name;
    int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400);
    if (fd < 0)
      return failure("create", file);
    bool written = ::write(fd, value.data(), value.size()) == static_cast<ssize_t>(value.size());
    ::close(fd);
    if (!written)
      return failure("write", file);
  }
  return {};
}

std::string enter_tree(const RunOptions& options)
{
  const fs::path& root = options.root;
  if (auto error = private_mounts(options); !error.empty())
    return error;
  ::sethostname("kiln", 4);
  if (auto error = mount_fs("proc", root / "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
      !error.empty())
    return error;
  if (auto error = make_dev(root); !error.empty())
    return error;
  if (auto error = mount_fs("tmpfs", root / "tmp", MS_NOSUID | MS_NODEV, "mode=1777");
      !error.empty())
    return error;
  if (auto error = mount_fs("tmpfs", root / "run", MS_NOSUID | MS_NODEV, "mode=755");
      !error.empty())
    return error;
  ::mkdir((root / "run/lock").c_str(), 01777);
  if (auto error = write_secrets(root, options.secret_files); !error.empty())
    return error;
  if (auto error = bind_resolv_conf(root); !error.empty())
    return error;
  for (const auto& input : options.binds) {
    if (auto error =
            bind(input.source, root / fs::path(input.target).relative_path(), !input.writable);
        !error.empty())
      return error;
  }
  if (!options.chroot)
    return {};
  if (::chroot(root.c_str()) != 0)
    return failure("chroot into", root);
  if (::chdir("/") != 0)
    return failure("enter", "/");
  return {};
}

} // namespace

std::vector<std::string> base_environment()
{
  return {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
          "HOME=/root",
          "LANG=C.UTF-8",
          "LC_ALL=C.UTF-8",
          "TERM=dumb",
          "DEBIAN_FRONTEND=noninteractive",
          "DEBCONF_NONINTERACTIVE_SEEN=true"};
}

namespace {

// A child that enters the tree prepared as `options` says before it runs.
util::ProcessSpec tree_spec(const RunOptions& options)
{
  util::ProcessSpec spec;
  spec.argv = options.argv;
  spec.env = options.env;
  spec.namespaces = kNamespaces;
  spec.timeout_seconds = options.timeout_seconds;
  spec.in_child = [&options] { return enter_tree(options); };
  return spec;
}

} // namespace

Expected<util::ProcessResult> run_in_tree(const RunOptions& options,
                                          util::ProcessObserver* observer)
{
  return util::run_process(tree_spec(options), observer);
}

Expected<util::ProcessResult> run_with_tree(const RunOptions& options, std::function<int()> work,
                                            util::ProcessObserver* observer)
{
  util::ProcessSpec spec;
  spec.argv = {"kiln (reading the image tree)"};
  spec.namespaces = kNamespaces;
  spec.in_child = [&options] { return private_mounts(options); };
  spec.child_main = std::move(work);
  return util::run_process(spec, observer);
}

Expected<util::ProcessResult> run_code_in_tree(const RunOptions& options, std::function<int()> work,
                                               util::ProcessObserver* observer)
{
  util::ProcessSpec spec = tree_spec(options);
  spec.argv = {"kiln (checking the image tree)"};
  spec.child_main = std::move(work);
  return util::run_process(spec, observer);
}

Expected<util::ProcessResult> run_isolated(util::ProcessSpec spec, util::ProcessObserver* observer)
{
  spec.namespaces = kNamespaces;
  spec.in_child = []() -> std::string {
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
      return std::string("sandbox: cannot make mounts private: ") + std::strerror(errno);
    return {};
  };
  return util::run_process(spec, observer);
}

} // namespace kiln::sandbox
