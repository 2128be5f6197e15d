// What a sandboxed run is given: the tree or overlay, the command, its binds, secrets, network
// and, for a tool beside the tree, its controller root. sandbox.hpp runs it; controller.hpp builds
// the controller root from it.
#pragma once

#include "sandbox/network.hpp"

#include <filesystem>
#include <optional>
#include <sched.h>
#include <string>
#include <utility>
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
  bool interactive = false; // the command gets kiln's terminal (util::ProcessSpec::interactive)
};

} // namespace kiln::sandbox
