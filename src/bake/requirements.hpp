// The requirements layer: groups, users, sudo rules and authorized keys, applied right after the
// base so that every step can rely on them.
#pragma once

#include "bake/step_log.hpp"
#include "bake/steps.hpp"
#include "spec/definition.hpp"
#include "util/error.hpp"

namespace kiln::bake {

// Where the image's apt proxy goes (network.proxy); kiln's own apt runs bypass it.
inline constexpr const char* kAptProxyFile = "/etc/apt/apt.conf.d/80kiln-proxy";

Status apply_requirements(const spec::Requirements& requirements, const StepContext& context,
                          StepLog& log);

} // namespace kiln::bake
