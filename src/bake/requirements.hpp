// The requirements layer: groups, users, sudo rules and authorized keys, applied right after the
// base so that every step can rely on them.
#pragma once

#include "bake/step_context.hpp"
#include "bake/step_log.hpp"
#include "spec/definition.hpp"
#include "util/error.hpp"

namespace kiln::bake {

Status apply_requirements(const spec::Requirements& requirements, const StepContext& context,
                          StepLog& log);

} // namespace kiln::bake
