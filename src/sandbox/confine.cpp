#include "sandbox/confine.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace kiln::sandbox {

namespace fs = std::filesystem;

namespace {

// Docker's default capability set, less CAP_MKNOD: enough for dpkg, useradd, chown, setuid
// helpers and ping. Docker can keep CAP_MKNOD because a device cgroup stops a container from
// opening the nodes it makes; a step has no such cgroup, and a block node of the host's disk
// would be the whole host. (FIFOs and sockets need no capability.)
constexpr int kAllowed[] = {CAP_CHOWN,      CAP_DAC_OVERRIDE,     CAP_FSETID,     CAP_FOWNER,
                            CAP_NET_RAW,    CAP_SETGID,           CAP_SETUID,     CAP_SETFCAP,
                            CAP_SETPCAP,    CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_KILL,
                            CAP_AUDIT_WRITE};

// Kernel files that describe the host or its memory: a read gives nothing, a write goes nowhere.
constexpr const char* kMaskedFiles[] = {
    "proc/kcore",       "proc/keys",        "proc/latency_stats", "proc/timer_list",
    "proc/timer_stats", "proc/sched_debug", "proc/sysrq-trigger", "proc/kallsyms"};
constexpr const char* kMaskedDirs[] = {"proc/acpi", "proc/scsi", "proc/asound", "sys/firmware"};
// Kernel settings a step may read but never change.
constexpr const char* kReadOnly[] = {"proc/sys", "proc/bus", "proc/fs", "proc/irq"};

// System calls that reach past the tree: namespaces and mounts, kernel modules and keys, the
// clock, swap, reboot, other processes' memory, BPF and perf. Docker's default profile refuses
// the same ones (it allows a list; kiln refuses this one, which keeps new harmless calls working).
constexpr const char* kRefused[] = {"acct",
                                    "add_key",
                                    "bpf",
                                    "clock_adjtime",
                                    "clock_settime",
                                    "create_module",
                                    "delete_module",
                                    "finit_module",
                                    "get_kernel_syms",
                                    "init_module",
                                    "ioperm",
                                    "iopl",
                                    "kcmp",
                                    "kexec_file_load",
                                    "kexec_load",
                                    "keyctl",
                                    "lookup_dcookie",
                                    "mount",
                                    "move_mount",
                                    "fsopen",
                                    "fsconfig",
                                    "fsmount",
                                    "fspick",
                                    "open_tree",
                                    "mount_setattr",
                                    "name_to_handle_at",
                                    "open_by_handle_at",
                                    "nfsservctl",
                                    "perf_event_open",
                                    "pivot_root",
                                    "process_vm_readv",
                                    "process_vm_writev",
                                    "query_module",
                                    "quotactl",
                                    "reboot",
                                    "request_key",
                                    "setns",
                                    "settimeofday",
                                    "stime",
                                    "swapon",
                                    "swapoff",
                                    "sysfs",
                                    "_sysctl",
                                    "syslog",
                                    "umount",
                                    "umount2",
                                    "unshare",
                                    "uselib",
                                    "userfaultfd",
                                    "ustat",
                                    "vm86",
                                    "vm86old",
                                    "fanotify_init",
                                    "open_tree_attr",
                                    "quotactl_fd"};

constexpr unsigned long kNamespaceFlags[] = {CLONE_NEWNS,    CLONE_NEWUTS, CLONE_NEWIPC,
                                             CLONE_NEWUSER,  CLONE_NEWPID, CLONE_NEWNET,
                                             CLONE_NEWCGROUP};

std::string failure(const std::string& what, const std::string& where)
{
  return "sandbox: cannot " + what + " " + where + ": " + std::strerror(errno);
}

int last_capability()
{
  int fd = ::open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
  char text[16] = {};
  ssize_t got = fd >= 0 ? ::read(fd, text, sizeof text - 1) : -1;
  if (fd >= 0)
    ::close(fd);
  return got > 0 ? std::atoi(text) : 40;
}

std::string drop_capabilities()
{
  unsigned long long keep = allowed_capabilities();
  for (int cap = 0; cap <= last_capability(); ++cap) {
    if (!(keep & (1ULL << cap)) && ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
      return failure("drop capability", std::to_string(cap));
  }
  ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  for (int i = 0; i < 2; ++i) {
    auto half = static_cast<__u32>(keep >> (32 * i));
    data[i].effective = half;
    data[i].permitted = half;
    data[i].inheritable = 0;
  }
  if (::syscall(SYS_capset, &header, data) != 0)
    return failure("set capabilities", "of the step");
  return {};
}

std::string load_seccomp()
{
  scmp_filter_ctx filter = seccomp_init(SCMP_ACT_ALLOW);
  if (filter == nullptr)
    return "sandbox: cannot create the seccomp filter";
  // 32-bit calls get the same rules, so they are no way around them.
  seccomp_arch_add(filter, SCMP_ARCH_X86);
  seccomp_arch_add(filter, SCMP_ARCH_X32);
  int rc = 0;
  for (const char* name : kRefused) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr != __NR_SCMP_ERROR)
      rc = rc ? rc : seccomp_rule_add(filter, SCMP_ACT_ERRNO(EPERM), nr, 0);
  }
  for (unsigned long flag : kNamespaceFlags) {
    rc = rc ? rc
            : seccomp_rule_add(filter, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                               SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag));
  }
  // clone3 passes its flags in memory, which a filter cannot read: say it does not exist, and
  // the C library falls back to clone, whose flags the rules above see.
  rc = rc ? rc : seccomp_rule_add(filter, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
  rc = rc ? rc : seccomp_load(filter);
  seccomp_release(filter);
  if (rc != 0)
    return std::string("sandbox: cannot load the seccomp filter: ") + std::strerror(-rc);
  return {};
}

std::string bind_over(const char* source, const fs::path& target, unsigned long extra)
{
  if (::mount(source, target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
    return failure("cover", target.string());
  if (::mount(nullptr, target.c_str(), nullptr,
              MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | extra, nullptr) != 0)
    return failure("make read-only", target.string());
  return {};
}

} // namespace

unsigned long long allowed_capabilities()
{
  unsigned long long mask = 0;
  for (int cap : kAllowed)
    mask |= 1ULL << cap;
  return mask;
}

std::string mask_kernel_files(const fs::path& root)
{
  struct stat st {};
  for (const char* file : kMaskedFiles) {
    fs::path target = root / file;
    if (::lstat(target.c_str(), &st) != 0)
      continue;
    if (auto error = bind_over("/dev/null", target, MS_NOEXEC); !error.empty())
      return error;
  }
  for (const char* dir : kMaskedDirs) {
    fs::path target = root / dir;
    if (::lstat(target.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      continue;
    if (::mount("tmpfs", target.c_str(), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                "size=0") != 0)
      return failure("mask", target.string());
  }
  for (const char* dir : kReadOnly) {
    fs::path target = root / dir;
    if (::lstat(target.c_str(), &st) != 0)
      continue;
    if (auto error = bind_over(target.c_str(), target, MS_NOEXEC); !error.empty())
      return error;
  }
  return {};
}

std::string confine_process()
{
  if (auto error = drop_capabilities(); !error.empty())
    return error;
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return failure("set no_new_privs", "for the step");
  return load_seccomp();
}

} // namespace kiln::sandbox
