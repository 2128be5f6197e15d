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
#include "sandbox/run_options.hpp"
#include "util/error.hpp"
#include "util/process.hpp"

#include <filesystem>
#include <functional>
#include <optional>
#include <sched.h>
#include <string>
#include <vector>

namespace kiln::sandbox {

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
