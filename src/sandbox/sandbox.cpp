#include "sandbox/sandbox.hpp"

#include "sandbox/confine.hpp"
#include "sandbox/controller.hpp"
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

namespace {

// DNS for the step's network: the forwarder of an isolated network, the host's settings on the
// host's network. Only a regular file is covered; a tree whose resolv.conf is a link manages DNS
// itself. The file is made on the /run tmpfs, never in a layer.
std::string bind_resolv_conf(const fs::path& root, Network network)
{
  struct stat st {};
  fs::path target = root / "etc/resolv.conf";
  if (!check_mount_point(root, "etc").empty())
    return {};
  if (network == Network::none || ::lstat(target.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return {};
  if (network == Network::host)
    return ::access("/etc/resolv.conf", R_OK) == 0 ? bind("/etc/resolv.conf", target, true)
                                                   : std::string();
  fs::path made = root / "run/kiln/resolv.conf";
  std::error_code ec;
  fs::create_directories(made.parent_path(), ec);
  int fd = ::open(made.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  std::string text = std::string("nameserver ") + kIsolatedDns + "\n";
  bool written = fd >= 0 && ::write(fd, text.data(), text.size()) == ssize_t(text.size());
  if (fd >= 0)
    ::close(fd);
  if (!written)
    return failure("write", made);
  return bind(made, target, true);
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
    if (::mount(nullptr, root.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NODEV,
                nullptr) != 0)
      return failure("make read-only", root);
    return {};
  }
  // No device node in a layer opens a device: only /dev's own nodes do.
  if (::mount("overlay", root.c_str(), "overlay", MS_NODEV, options.c_str()) != 0) {
    std::string why =
        failure("mount overlayfs of layers in " + overlay.base_dir.string() + " on", root);
    return why + " (the cache folder must be on a filesystem that can hold overlayfs layers, "
                 "such as ext4, xfs, btrfs or tmpfs: choose one with --cache-dir or "
                 "KILN_CACHE_DIR)";
  }
  return {};
}

// A folder the command may write that changes only `bind.upper`, never `bind.source`.
std::string overlay_folder(const Bind& bind, const fs::path& target)
{
  std::error_code ec;
  fs::create_directories(target, ec);
  std::string options = "lowerdir=" + bind.source.string() + ",upperdir=" + bind.upper.string() +
                        ",workdir=" + bind.work.string();
  if (::mount("overlay", target.c_str(), "overlay", MS_NOSUID | MS_NODEV, options.c_str()) != 0)
    return failure("mount an overlay of " + bind.source.string() + " on", target);
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

// /proc, /dev, /tmp and /run of the tree: kernel views and scratch space, never in a layer.
std::string mount_kernel_views(const fs::path& root)
{
  for (const char* point : {"proc", "dev", "tmp", "run"}) {
    if (auto error = check_mount_point(root, point); !error.empty())
      return error;
  }
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
  return {};
}

std::string enter_tree(const RunOptions& options)
{
  const fs::path& root = options.root;
  if (auto error = private_mounts(options); !error.empty())
    return error;
  ::sethostname("kiln", 4);
  if (auto error = mount_kernel_views(root); !error.empty())
    return error;
  if (auto error = write_secrets(root, options.secret_files); !error.empty())
    return error;
  if (auto error = bind_resolv_conf(root, options.network); !error.empty())
    return error;
  for (const auto& input : options.binds) {
    if (auto error = check_mount_point(root, input.target); !error.empty())
      return error;
    fs::path target = root / fs::path(input.target).relative_path();
    if (auto error = input.upper.empty() ? bind(input.source, target, !input.writable)
                                         : overlay_folder(input, target);
        !error.empty())
      return error;
  }
  if (auto error = mask_kernel_files(root); !error.empty())
    return error;
  auto error = options.chroot ? pivot_into(root) : enter_controller_root(options);
  if (!error.empty())
    return error;
  return confine_process();
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
  spec.interactive = options.interactive;
  spec.before_namespaces = [&options] { return enter_network(options.network); };
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
  // kiln's own code needs no network.
  RunOptions offline = options;
  offline.network = Network::none;
  util::ProcessSpec spec = tree_spec(offline);
  spec.argv = {"kiln (checking the image tree)"};
  spec.child_main = std::move(work);
  return util::run_process(spec, observer);
}

Expected<util::ProcessResult> run_in_controller(const RunOptions& options,
                                                util::ProcessObserver* observer)
{
  util::ProcessSpec spec = tree_spec(options);
  spec.in_child = [&options]() -> std::string {
    if (auto error = private_mounts(options); !error.empty())
      return error;
    if (auto error = enter_controller_root(options); !error.empty())
      return error;
    return confine_process();
  };
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
