// What a process inside an image may do to the kernel it shares with the build host.
//
// A step runs as root inside its tree, so the tree's own files are its to change; the kernel is
// not. Like a container runtime's default profile, kiln takes away what reaches past the tree:
// capabilities that administer the machine (mounts, modules, raw I/O, ptrace of others, time,
// reboot, network administration, MAC policy, ...), kernel files under /proc and /sys that
// describe or steer the host, and the system calls that change namespaces, mounts, keys,
// modules or the clock. What stays is what package maintainer scripts need: changing owners and
// modes, switching users, binding low ports, raw sockets (ping), chroot.
#pragma once

#include <filesystem>
#include <string>

namespace kiln::sandbox {

// Covers the /proc and /sys files of the mounted tree at `root` that a step must not read or
// write: the kernel's memory, keys and timers are masked; /proc/sys and its siblings become
// read-only. Returns "" or what failed.
std::string mask_kernel_files(const std::filesystem::path& root);

// Last thing before exec: keeps only the allowed capabilities (bounding, effective, permitted
// and inheritable sets; ambient cleared), sets no_new_privs and loads the seccomp filter.
// Returns "" or what failed.
std::string confine_process();

// The capability bounding set a confined step gets, as /proc/PID/status prints CapBnd (hex).
unsigned long long allowed_capabilities();

} // namespace kiln::sandbox
