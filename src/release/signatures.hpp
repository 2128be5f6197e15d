// Signing a version's body with the publisher's Ed25519 key, and checking it with the public key
// a deployer trusts.
#pragma once

#include "release/version.hpp"
#include "util/error.hpp"

#include <filesystem>
#include <vector>

namespace kiln::release {

Expected<std::vector<Signature>> sign_version(const nlohmann::json& body,
                                              const std::filesystem::path& private_key);

// The fingerprint of the key whose signature is valid; fails (exit 4) when the version is
// unsigned or no signature is valid for `public_key`.
Expected<std::string> check_version_signature(const VersionDocument& document,
                                              const std::filesystem::path& public_key);

} // namespace kiln::release
