// Running a process inside an image tree.
//
// Each run gets new mount, PID, UTS, IPC and network namespaces. PID 1 of the new namespace
// makes every mount private, mounts /proc (with the host's kernel files masked or read-only), a
// minimal /dev, tmpfs on /tmp and /run, a resolv.conf for its network and the requested inputs
// read-only, then pivots its root into the tree and detaches the old one, so that nothing of the
// host is left to reach (chroot alone can be escaped by a process that may call chroot). Before
// the command runs it loses every capability that administers the machine, gets no_new_privs
// and a seccomp filter (confine.hpp). All of these mounts live only in the private mount
// namespace: when the command ends, or kiln kills it, the kernel kills every process left in the
// PID namespace and drops the mounts with it, so nothing can stay mounted on the host.
#pragma once

#include "sandbox/network.hpp"
#include "util/error.hpp"
#include "util/process.hpp"

#include <filesystem>
#include <functional>
#include <optional>
#include <sched.h>
#include <string>
#include <vector>

namespace kiln::sandbox {

inline constexpr int kNamespaces = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC;

// Where read-only inputs appear inside the tree (on the /run tmpfs, so never in a layer).
inline constexpr const char* kInputDir = "/run/kiln/input";

struct Bind {
  std::filesystem::path source; // on the host: a file or a folder
  std::string target;           // absolute path inside the tree
  bool writable = false;        // inputs are read-only; a scratch folder is not
  // When set, `source` (a folder) is the read-only lower layer of an overlay whose changes go to
  // `upper` (with overlayfs' `work` beside it): the command sees a writable folder, and the
  // source, shared with other builds, is never changed.
  std::filesystem::path upper = {};
  std::filesystem::path work = {};
};

// An overlayfs stack mounted on the root before anything else: the layers below, read-only, and
// an upper folder that receives every change. Paths are relative to `base_dir`, which keeps the
// mount options short enough for deep stacks.
struct Overlay {
  std::filesystem::path base_dir;
  std::vector<std::string> lower; // topmost first
  std::string upper;              // "" for a read-only view
  std::string work;               // overlayfs' scratch folder, beside upper
};

struct RunOptions {
  std::filesystem::path root; // the tree, or the empty folder an overlay is mounted on
  std::optional<Overlay> overlay;
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::vector<Bind> binds;
  // Written to /run/secrets/NAME (mode 0400) on the /run tmpfs: gone when the command ends.
  std::vector<std::pair<std::string, std::string>> secret_files;
  double timeout_seconds = 0;
  // false: the command runs beside the prepared tree at `root` instead of inside it (for a tool
  // that enters the tree itself, such as Ansible's chroot connection), in a root of its own made
  // in the empty folder `controller_root` (controller.hpp), where it finds `host_binds` at their
  // own paths.
  bool chroot = true;
  std::filesystem::path controller_root;
  std::vector<Bind> host_binds;
  Network network = Network::isolated;
};

// The environment every command in a tree starts with (plus the caller's additions).
std::vector<std::string> base_environment();

Expected<util::ProcessResult> run_in_tree(const RunOptions& options,
                                          util::ProcessObserver* observer);

// Runs `work` (kiln's own code, in a child process) with the overlay of `options` mounted on
// `options.root` in a private mount namespace, without chroot. Its output goes to `observer`.
Expected<util::ProcessResult> run_with_tree(const RunOptions& options, std::function<int()> work,
                                            util::ProcessObserver* observer);

// Runs `work` (kiln's own code, in a child process) with the tree, prepared as for run_in_tree,
// as its root and no network, so that absolute paths and links resolve inside the image. A
// descriptor opened before the call is how it writes outside.
Expected<util::ProcessResult> run_code_in_tree(const RunOptions& options, std::function<int()> work,
                                               util::ProcessObserver* observer);

// Runs `options.argv` in a controller root (controller.hpp) without any tree (`root` empty),
// confined like a step: for a host tool that reads a definition's files, such as
// `ansible-playbook --syntax-check`, which may load plugins from them.
Expected<util::ProcessResult> run_in_controller(const RunOptions& options,
                                                util::ProcessObserver* observer);

// Runs a host command in private mount and PID namespaces, so that whatever it mounts (as
// mmdebstrap does) disappears with it even when it is killed.
Expected<util::ProcessResult> run_isolated(util::ProcessSpec spec, util::ProcessObserver* observer);

} // namespace kiln::sandbox
