// A local virtual machine booted from a kiln disk: qemu-system-x86_64 with OVMF (UEFI), on a
// copy-on-write overlay so that the disk itself is never written, TCG unless KVM is asked for,
// user-mode networking in a network namespace of its own (outbound only, as a step's: the guest
// reaches neither the host's loopback nor the metadata service), SSH reached through a Unix
// socket in its folder, and a NoCloud seed that gives
// the guest a one-time SSH key and makes it print a ready marker on its serial console.
//
// Nothing outlives the Machine: its destructor powers the guest off (or kills qemu) and removes
// its folder (overlay, firmware variables, seed, key). qemu also dies with kiln, even on SIGKILL
// (PR_SET_PDEATHSIG); its folder is in a scratch folder of the cache, which the next run removes.
#pragma once

#include "util/error.hpp"
#include "vm/ssh.hpp"

#include <filesystem>
#include <memory>
#include <string>

namespace kiln::vm {

// The user cloud-init makes from the seed, with the one-time key and sudo.
inline constexpr const char* kGuestUser = "kiln";

struct MachineOptions {
  std::filesystem::path disk; // raw or qcow2; read only
  std::string format;         // "raw" or "qcow2"
  std::filesystem::path work; // a folder of this run's own (made, then removed)
  int memory_mib = 2048;
  int cpus = 2;
  bool kvm = false;                  // TCG by default: KVM guests hang on some hosts
  double ready_timeout = 600;        // seconds from power-on to the ready marker
  std::filesystem::path console_log; // where the serial console is kept
  // The VM builder's machine: its hostname and /etc/hosts stay the image's (a boot test's
  // machine is named kiln-test).
  bool keep_identity = false;
  // When set: a raw file attached as a second virtio disk with the serial "kiln-capture"
  // (/dev/disk/by-id/virtio-kiln-capture in the guest), which the VM builder writes its capture to.
  std::filesystem::path capture_disk;
};

// Where the capture disk appears in the guest.
inline constexpr const char* kCaptureDevice = "/dev/disk/by-id/virtio-kiln-capture";

class Machine {
public:
  // Starts the machine and waits for its ready marker; an error shows the console's last lines.
  static Expected<std::unique_ptr<Machine>> boot(const MachineOptions& options);
  ~Machine();

  double ready_seconds() const { return ready_seconds_; } // power-on to the ready marker
  const SshTransport& ssh() const { return *ssh_; }

  // Reboots the guest and waits until it answers over SSH from its new boot, up to the ready
  // timeout (builder: vm, a step with reboot: true).
  Status reboot();

  // Powers the guest off and moves its overlay (a qcow2 over the booted disk: every change the
  // machine made) to `dest`, which outlives the Machine (--on-error=abort).
  Status keep_disk(const std::filesystem::path& dest);

  // Asks the guest to power off and waits for qemu to end (killing it after `timeout`).
  Status power_off(double timeout_seconds = 90);

private:
  Machine() = default;
  Status start();
  Status wait_ready();
  void kill_qemu();

  MachineOptions options_;
  int pid_ = -1;
  std::string marker_;
  double ready_seconds_ = 0;
  std::unique_ptr<SshTransport> ssh_;
};

// The folder a run's Machine uses under `parent` (a scratch folder of the cache, which a later
// run removes when this process is gone).
std::filesystem::path machine_dir(const std::filesystem::path& parent);

// The last `lines` lines of a console log, for error messages.
std::string console_tail(const std::filesystem::path& log, int lines = 25);

} // namespace kiln::vm
