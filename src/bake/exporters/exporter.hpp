// One output kind of a bake, as `outputs:` names it: the rootfs tar, the disks; OCI next.
//
// An exporter writes one file from the generalized image. It runs in a child process whose
// private mount namespace holds the read-only tree (sandbox::run_with_tree), writes into the
// export's folder in the cache, and prints its progress as lines on stdout. The builder then
// places the file in OUT and lists it in the manifest's `outputs`. Adding an output kind is one
// file here and one line in the table of registry.cpp (and its name in spec::kSupportedOutputs).
#pragma once

#include "image/manifest.hpp"
#include "spec/definition.hpp"
#include "util/error.hpp"
#include "util/redact.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace kiln::bake {

struct ExportTarget {
  std::filesystem::path tree;              // the generalized image, mounted read-only
  std::filesystem::path dir;               // the export's folder in the cache: write here
  int64_t source_date_epoch = 0;           // file times are clamped to it
  const util::Redactor* secrets = nullptr; // values that must not be in the output, or null
  // What disks derive their ids from: the sha256 of the rootfs tar written before them, which is
  // the same for every bake of the same image; "" when there is none (see raw_disk.cpp).
  std::string image_digest;
  // A folder for what exporters share and do not keep (a disk's raw file behind its qcow2);
  // removed after the last exporter.
  std::filesystem::path shared;
};

class Exporter {
public:
  virtual ~Exporter() = default;
  virtual std::string name() const = 0; // as in `outputs:`
  virtual std::string file() const = 0; // what it writes, relative to the folder (and OUT)
  // Its settings that change the bytes it writes, for the export cache key ("" if none).
  virtual std::string key_part() const = 0;
  virtual Expected<image::OutputFile> write(const ExportTarget& target) const = 0;
};

} // namespace kiln::bake
