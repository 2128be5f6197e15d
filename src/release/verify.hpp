// kiln verify: one version, its signature, its provenance, and every byte of its files.
#pragma once

#include "release/config.hpp"
#include "release/pull.hpp"
#include "store/store.hpp"

#include <string>
#include <vector>

namespace kiln::release {

struct VerifyReport {
  Resolved resolved;
  std::vector<std::string> checked;  // one line per check that passed, in order
  std::vector<std::string> skipped;  // checks that could not run, and why
  std::vector<std::string> warnings; // e.g. the version is revoked
};

// Fails (naming the object) at the first check that does not pass.
Expected<VerifyReport> verify(store::Store& store, const ReleaseConfig& config,
                              const std::string& ref);

} // namespace kiln::release
