// Generalizing a tree before export: removing what identifies the machine that built it, in the
// manner of virt-sysprep's default operations.
#pragma once

#include "util/error.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace kiln::image {

struct GeneralizeReport {
  std::vector<std::string> removed;   // paths relative to the tree
  std::vector<std::string> truncated; // paths emptied but kept
  std::vector<std::string> replaced;  // paths given kiln's neutral content (etc/hostname)
};

// Works on the tree from the host. No path is followed through a symbolic link inside the tree,
// so an absolute link such as var -> /var can never make it touch the host.
Expected<GeneralizeReport> generalize(const std::filesystem::path& tree);

} // namespace kiln::image
