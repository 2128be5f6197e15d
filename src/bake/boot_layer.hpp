// The boot layer: what a bootable disk needs that a container image does not. kiln adds it on
// top of the definition's steps when `outputs:` asks for a disk (spec::wants_disk), as a layer of
// its own, cached and recorded like any other:
//   - a kernel and its initramfs, when the image has none (linux-image-cloud-ARCH);
//   - systemd as init, cloud-init, the OpenSSH server, growpart, and systemd-boot's EFI files;
//   - /etc/fstab by label (the disk exporter gives the file systems these labels);
//   - cloud-init for the NoCloud and EC2 data sources, growing the root to the disk at first
//     boot and making new SSH host keys there.
#pragma once

#include "bake/step_context.hpp"
#include "bake/step_log.hpp"
#include "util/error.hpp"

#include <nlohmann/json.hpp>
#include <string>

namespace kiln::bake {

// The labels the boot layer's /etc/fstab mounts; the disk exporter writes them.
inline constexpr const char* kRootLabel = "kiln-root";
inline constexpr const char* kEspLabel = "KILN-ESP";

// The Debian kernel kiln installs for a machine ("x86_64" -> linux-image-cloud-amd64), or an
// error naming the machine when Debian has no cloud kernel for it.
Expected<std::string> kernel_package_for(const std::string& machine);

// What the layer's cache key is made of: its packages and its configuration script.
nlohmann::json boot_layer_inputs(const std::string& machine);

// Installs and configures on the stack of layers in `context`; says what it adds in `log`.
Status apply_boot_layer(const StepContext& context, const std::string& machine, StepLog& log);

} // namespace kiln::bake
