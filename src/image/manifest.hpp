// manifest.json: what an image version is made of. Format version 1.
#pragma once

#include "image/dpkg.hpp"
#include "image/inventory.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace kiln::image {

inline constexpr int kManifestFormat = 1;

struct InputDigest {
  std::string path; // relative to the definition's folder
  std::string sha256;
};

struct ArtifactDigest {
  std::string step;
  std::string url; // credentials removed
  std::string sha256;
};

struct OutputFile {
  std::string name; // "rootfs"
  std::string file; // "rootfs.tar.zst", relative to the output folder
  std::string sha256;
  uint64_t size = 0;
  std::string format;        // disks: "raw", "qcow2", "vmdk" or "vhd"; "" for the tar
  uint64_t virtual_size = 0; // disks: the size the machine sees; 0 for the tar
};

// A tool in the software report, with the version its command printed.
struct Tool {
  std::string name;
  std::string category;
  std::string version; // "" when the command failed or printed no version
  std::string output;  // the first line it printed, or why it failed
};

struct Manifest {
  std::string name;
  std::string version;
  std::string definition_file; // file name of the definition
  std::string definition_sha256;
  std::vector<InputDigest> inputs;
  std::vector<ArtifactDigest> artifacts;
  nlohmann::json base; // the base as the definition gave it
  std::vector<Package> packages;
  OsRelease os;                       // the image's /etc/os-release
  std::vector<std::string> requested; // packages the definition names (bootstrap and steps)
  std::vector<Tool> tools;            // the definition's report: commands, run in the image
  std::vector<UserEntry> users;
  std::vector<OutputFile> outputs;
  std::string kiln_version;
  std::string ansible_version; // the build host's, when ansible steps ran; "" otherwise
  std::optional<std::string> git_commit;
  int64_t source_date_epoch = 0;
  nlohmann::json security; // the security audit's summary, or null
  nlohmann::json storage;  // the disk layout disk outputs will use, or null
  nlohmann::json tests;    // {"total": N, "failed": 0} when the image has tests, or null
};

nlohmann::json to_json(const Manifest& manifest);
nlohmann::json to_json(const OutputFile& output);
OutputFile output_from_json(const nlohmann::json& json); // throws nlohmann::json::exception

} // namespace kiln::image
