// A published version as the store keeps it: one document per NAME@VERSION under
// images/NAME/versions/VERSION, created once and never changed. It lists every file of the build's
// output folder as chunks (store/chunks), with what channels and deployers need to know without
// fetching anything: the image manifest's digest, the parent image, the test results. The
// document holds the version's body, the Ed25519 signatures over it, and the provenance envelope.
#pragma once

#include "store/chunks.hpp"
#include "store/store.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace kiln::release {

struct PublishedFile {
  std::string path; // relative to the output folder, e.g. "rootfs.tar.zst", "tests/junit.xml"
  store::StoredFile stored;
};

struct ParentImage {
  std::string name, version, manifest_sha256;
};

struct Version {
  std::string name, version;
  int64_t published = 0;       // Unix time
  std::string publisher;       // user@host
  std::string manifest_sha256; // of the output's manifest.json
  std::optional<ParentImage> parent;
  int tests_total = 0, tests_failed = 0;
  std::vector<PublishedFile> files;

  bool tests_passed() const { return tests_total > 0 && tests_failed == 0; }
  uint64_t size() const; // of all files, as pulled
};

struct Signature {
  std::string keyid; // the key's fingerprint
  std::string sig;   // base64
};

// The document: the body as published, its signatures, the provenance envelope (DSSE).
struct VersionDocument {
  Version version;
  nlohmann::json body;
  std::vector<Signature> signatures;
  nlohmann::json provenance; // null when none
};

std::string version_key(const std::string& name, const std::string& version);
std::string versions_prefix(const std::string& name);

nlohmann::json to_json(const Version& version);
Expected<Version> version_from_json(const nlohmann::json& body);

// The bytes a version's signature covers.
std::string signed_message(const nlohmann::json& body);

std::string to_document(const VersionDocument& document);
Expected<VersionDocument> parse_document(const std::string& text, const std::string& what);

// The version NAME@VERSION, or an input error saying it is not published.
Expected<VersionDocument> read_version(store::Store& store, const std::string& name,
                                       const std::string& version);

// The published versions of NAME, lowest precedence first; image names with at least one version.
Expected<std::vector<std::string>> list_versions(store::Store& store, const std::string& name);
Expected<std::vector<std::string>> list_images(store::Store& store);

// "user@host": who publishes, promotes or revokes, for the records.
std::string current_identity();

// Whether two versions are the same image: the same files, byte for byte, apart from the
// records of the run (so re-publishing an identical rebuild changes nothing).
bool same_content(const Version& a, const Version& b);

} // namespace kiln::release
