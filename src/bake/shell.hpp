// `kiln shell OUT`: a shell (or one command) in the sandbox, in the tree a failed bake kept
// (bake/kept.hpp; changes go to the kept tree) or else in OUT's finished image, unpacked from its
// verified rootfs.tar.zst into scratch space: read-only, or with `write` a throwaway copy.
// Either way the command runs as a step would: private namespaces, no host folder, outbound
// network only. With `boot`, OUT's disk is booted instead (vm/machine.hpp, on a throwaway
// overlay) and the shell runs as root over SSH; the machine is powered off when it exits.
#pragma once

#include "util/error.hpp"
#include "util/process.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace kiln::bake {

struct ShellOptions {
  std::filesystem::path out_dir;
  std::filesystem::path cache_dir;
  std::vector<std::string> command;          // empty: a login shell (bash when the image has it)
  bool write = false;                        // a finished image: writable, changes gone at exit
  bool boot = false;                         // boot OUT's disk and enter it over SSH
  bool kvm = false;                          // with boot: KVM instead of TCG
  util::ProcessObserver* progress = nullptr; // what kiln says before the shell starts
};

// Runs the shell on the caller's terminal and returns its exit status (128+N for signal N).
Expected<int> open_shell(const ShellOptions& options);

} // namespace kiln::bake
