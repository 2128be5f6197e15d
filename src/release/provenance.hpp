// What a published version is and how it was made, in the formats supply-chain tools read: an
// in-toto Statement v1 whose subjects are the version's files by sha256, with a SLSA Provenance v1
// predicate (the definition by digest, the git commit, kiln's version, the base image and every
// fetched input), wrapped in a DSSE envelope signed with the publisher's Ed25519 key.
#pragma once

#include "release/version.hpp"
#include "util/error.hpp"

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace kiln::release {

inline constexpr const char* kInTotoPayloadType = "application/vnd.in-toto+json";

// The statement for `version`, from the image manifest (OUT/manifest.json) it was built with.
nlohmann::json provenance_statement(const nlohmann::json& image_manifest, const Version& version);

// DSSE's pre-authentication encoding of a payload: what the envelope's signatures cover.
std::string dsse_pae(const std::string& payload_type, const std::string& payload);

// The envelope; signed when `key` is given.
Expected<nlohmann::json> dsse_envelope(const nlohmann::json& statement,
                                       const std::filesystem::path& key);

// The statement inside an envelope. With a public key, fails unless a signature by it is valid.
Expected<nlohmann::json> open_envelope(const nlohmann::json& envelope,
                                       const std::filesystem::path& public_key);

// What a published version was built from, as its provenance records it: the definition and the
// files it reads by digest, and the packages inside (name -> version).
struct BuiltFrom {
  std::string definition_sha256;
  std::map<std::string, std::string> inputs; // path relative to the definition -> sha256
  std::map<std::string, std::string> packages;
  std::string parent;       // "NAME@VERSION" of a kiln: parent image; empty for other bases
  nlohmann::json bootstrap; // a bootstrapped base: suite, variant, mirror, components, packages
};

// The provenance's statement read back; signed by `public_key` when one is given.
Expected<BuiltFrom> built_from(const VersionDocument& version,
                               const std::filesystem::path& public_key);

// A version's provenance must be readable, signed when `public_key` is given, and name exactly
// the version's files by digest.
Status check_provenance(const VersionDocument& version, const std::filesystem::path& public_key);

} // namespace kiln::release
