#include "sandbox/controller.hpp"

#include "sandbox/confine.hpp"
#include "sandbox/mounts.hpp"
#include "sandbox/run_options.hpp"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln::sandbox {

namespace fs = std::filesystem;

namespace {

// What programs (python, ansible, chroot, apt's helpers) read in /etc to start and to name
// users; nothing that holds a secret (no shadow files, no ssh or TLS private keys).
constexpr const char* kHostEtc[] = {
    "passwd",       "group",          "hosts",        "host.conf",  "nsswitch.conf",
    "ld.so.cache",  "ld.so.conf",     "ld.so.conf.d", "localtime",  "timezone",
    "os-release",   "debian_version", "ansible",      "ssl/certs",  "ca-certificates.conf",
    "alternatives", "python3",        "python3.11",   "mime.types", "protocols",
    "services",     "login.defs"};

// Merged /usr: these are links into /usr on Debian 12; a host without merged /usr has folders.
constexpr const char* kTopLevel[] = {"bin", "sbin", "lib", "lib32", "lib64", "libx32"};

std::string host_system(const fs::path& top)
{
  if (auto error = bind("/usr", top / "usr", true); !error.empty())
    return error;
  for (const char* name : kTopLevel) {
    fs::path host = fs::path("/") / name;
    struct stat st {};
    if (::lstat(host.c_str(), &st) != 0)
      continue;
    if (S_ISLNK(st.st_mode)) {
      std::error_code ec;
      fs::create_symlink(fs::read_symlink(host, ec), top / name, ec);
      if (ec)
        return failure("link", top / name);
    } else if (auto error = bind(host, top / name, true); !error.empty()) {
      return error;
    }
  }
  for (const char* name : kHostEtc) {
    fs::path host = fs::path("/etc") / name;
    if (::access(host.c_str(), F_OK) != 0)
      continue;
    if (auto error = bind(host, top / "etc" / name, true); !error.empty())
      return error;
  }
  return {};
}

std::string scratch_space(const fs::path& top)
{
  if (auto error = mount_fs("proc", top / "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
      !error.empty())
    return error;
  if (auto error = make_dev(top); !error.empty())
    return error;
  for (const char* dir : {"tmp", "var/tmp", "root", "run"}) {
    std::error_code ec;
    fs::create_directories(top / dir, ec);
    if (auto error = mount_fs("tmpfs", top / dir, MS_NOSUID | MS_NODEV,
                              std::string(dir) == "root" ? "mode=700" : "mode=1777");
        !error.empty())
      return error;
  }
  return mask_kernel_files(top);
}

} // namespace

std::string enter_controller_root(const RunOptions& options)
{
  const fs::path& top = options.controller_root;
  if (top.empty() || !top.is_absolute())
    return "sandbox: a command beside the tree needs an absolute controller_root";
  if (auto error = mount_fs("tmpfs", top, MS_NOSUID | MS_NODEV, "mode=755"); !error.empty())
    return error;
  if (auto error = host_system(top); !error.empty())
    return error;
  if (auto error = scratch_space(top); !error.empty())
    return error;
  fs::path resolv = options.root / "run/kiln/resolv.conf";
  if (options.network == Network::isolated && ::access(resolv.c_str(), R_OK) == 0) {
    if (auto error = bind(resolv, top / "etc/resolv.conf", true); !error.empty())
      return error;
  } else if (options.network == Network::host && ::access("/etc/resolv.conf", R_OK) == 0) {
    if (auto error = bind("/etc/resolv.conf", top / "etc/resolv.conf", true); !error.empty())
      return error;
  }
  for (const auto& host : options.host_binds) {
    // Not recursive: a host folder may hold this very root (a step's scratch folder does).
    fs::path target = top / host.source.relative_path();
    std::error_code ec;
    fs::create_directories(target, ec);
    if (::mount(host.source.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0)
      return failure("bind-mount " + host.source.string() + " on", target);
    if (!host.writable &&
        ::mount(nullptr, target.c_str(), nullptr,
                MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr) != 0)
      return failure("make read-only", target);
  }
  // Last, so that no host folder covers it: the tree where the caller names it, with everything
  // mounted in it.
  if (!options.root.empty()) {
    if (auto error = bind(options.root, top / options.root.relative_path(), false); !error.empty())
      return error;
  }
  return pivot_into(top);
}

} // namespace kiln::sandbox
