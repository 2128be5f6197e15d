// The `rootfs` output: the image as a deterministic rootfs.tar.zst (image/tar_export.hpp).
#pragma once

#include "bake/exporters/exporter.hpp"

namespace kiln::bake {

std::unique_ptr<Exporter> make_tar_exporter();

} // namespace kiln::bake
