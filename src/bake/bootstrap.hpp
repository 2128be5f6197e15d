// The base tree, bootstrapped by mmdebstrap.
#pragma once

#include "bake/deb_cache.hpp"
#include "bake/step_log.hpp"
#include "spec/definition.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <filesystem>

namespace kiln::bake {

// Keeps services from starting while steps run; installed in the base layer, removed by
// generalize when it is still kiln's own.
inline constexpr const char* kPolicyRcD =
    "#!/bin/sh\n# Written by kiln during a build: no service starts.\nexit 101\n";

// Bootstraps into `tree`. With a package cache, mmdebstrap's apt uses it as its archive folder
// (bind-mounted from a setup hook, inside mmdebstrap's own private mount namespace).
Status bootstrap(const spec::Bootstrap& base, const std::filesystem::path& tree,
                 int64_t source_date_epoch, DebCache* debs, StepLog& log);

} // namespace kiln::bake
