// A cached layer as an archive, for the shared cache (remote_cache.hpp): written on one machine,
// unpacked into another's cache, where it must measure to the same layer digest.
//
// The tar holds the layer's folders, files, links and FIFOs with their owners, modes,
// modification times to the nanosecond, hard links and extended attributes (not trusted.*), with
// names as raw bytes.
// What an unprivileged, confined extraction cannot make is listed beside it, in the "specials"
// JSON: overlayfs whiteouts (character devices 0:0), the few character devices mmdebstrap
// makes in /dev (null, zero, full, random, urandom, tty, console, ptmx), overlayfs' opaque
// mark on folders, and the layer root's own owner, mode and time. restore_specials() makes them
// in the unpacked tree from kiln's own code, resolving each path below the tree without
// following a link; no other device can be made, whatever the document says.
//
// A layer that holds anything else (a socket, a block device, another character device, a
// trusted.* attribute but the opaque mark and overlayfs' inode-number bookkeeping) is not
// shareable: write_layer_archive says why, and the layer stays local.
#pragma once

#include "util/error.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace kiln::bake {

struct LayerArchive {
  nlohmann::json specials; // what the tar cannot carry; see above
  std::string unshareable; // why the layer cannot be shared; "" when it can
  uint64_t entries = 0;    // in the tar
};

// Writes `tree` as an uncompressed tar to `dest`. When the layer is unshareable, the tar is
// incomplete and must not be used.
Expected<LayerArchive> write_layer_archive(const std::filesystem::path& tree,
                                           const std::filesystem::path& dest);

// Makes the specials in `tree` (an unpacked layer), then sets the parents' and the root's times
// back. Refuses (exit 4) a path that is not plain and relative, that goes through a link or
// leaves the tree, and any device but those listed above.
Status restore_specials(const std::filesystem::path& tree, const nlohmann::json& specials);

} // namespace kiln::bake
