// The root a tool that works on the tree from outside (the Ansible controller, whose chroot
// connection enters the tree itself) runs in: not the build host, but a tmpfs holding the
// host's programs read-only (/usr), a short list of /etc files programs need to start, fresh
// /proc, /dev, /tmp, /root and /run, the tree at its own path, and the host folders the caller
// names. Nothing else of the host is there: not its other files, keys, kiln's cache or stores.
#pragma once

#include <filesystem>
#include <string>

namespace kiln::sandbox {

struct RunOptions;

// Builds that root in the folder `options.controller_root` and pivots into it. Runs in the
// child, in its private mount namespace, after the tree is prepared. Returns "" or what failed.
std::string enter_controller_root(const RunOptions& options);

} // namespace kiln::sandbox
