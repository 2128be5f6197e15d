// The disk outputs: `raw` (a bootable GPT disk, bake/exporters/raw_disk), and `qcow2`, `vmdk`
// (stream-optimized, as cloud imports want) and `vhd`, converted from the raw disk by qemu-img.
#pragma once

#include "bake/exporters/exporter.hpp"

#include <memory>
#include <string>

namespace kiln::bake {

// `format` is an output name of spec::kDiskOutputs.
std::unique_ptr<Exporter> make_disk_exporter(const std::string& format,
                                             const spec::Definition& definition);

} // namespace kiln::bake
