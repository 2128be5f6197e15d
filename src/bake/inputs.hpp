// Everything a build reads besides the base: files next to the definition and downloaded
// artifacts. They are hashed and fetched before the bootstrap starts, so a missing file or a wrong
// sha256 fails in seconds instead of after minutes of baking.
#pragma once

#include "bake/base_disk.hpp"
#include "bake/layer_cache.hpp"
#include "bake/step_log.hpp"
#include "image/manifest.hpp"
#include "image/out_dir.hpp"
#include "spec/definition.hpp"
#include "store/open.hpp"
#include "util/error.hpp"

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kiln::bake {

// The kiln image a definition builds on (base: image:PATH).
using ParentImage = image::out::Finished;

struct Inputs {
  std::optional<ParentImage> parent;
  std::optional<BaseDisk> base_disk; // builder: vm
  std::string definition_sha256;
  std::vector<image::InputDigest> files;        // scripts and copied files, by content
  std::vector<image::ArtifactDigest> artifacts; // downloads, by their verified sha256
  std::map<std::string, std::filesystem::path> artifact_files; // step name -> cached file
  std::map<std::string, std::string> secret_hmacs;             // secret name -> HMAC of its value
  std::string ansible_version; // the controller's, when the definition has ansible steps
};

// Hashes every file the definition uses; with `fetch`, also downloads and verifies artifacts and
// checks the syntax of every playbook. `remote` says how s3:// artifacts are reached.
Expected<Inputs> resolve_inputs(const spec::Definition& definition, LayerCache& cache, bool fetch,
                                StepLog& log, const store::RemoteOptions& remote = {});

// The definition and the files it reads by digest (scripts, copied files, CA certificates, playbook
// and role folders), without fetching or checking anything: what `kiln ci` compares with the
// provenance of a published version. Names and digests are those of the manifest's inputs.
struct SourceDigests {
  std::string definition_sha256;
  std::vector<image::InputDigest> files;
};
Expected<SourceDigests> source_digests(const spec::Definition& definition);

// The cached copy of an artifact: fetched once, verified, then reused by sha256.
Expected<std::filesystem::path> fetch_artifact(const spec::Definition& definition,
                                               const spec::Step& step, LayerCache& cache,
                                               StepLog& log,
                                               const store::RemoteOptions& remote = {});

} // namespace kiln::bake
