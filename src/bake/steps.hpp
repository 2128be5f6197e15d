// The step kinds of format v1: packages, shell, file, artifact, ansible (bake/ansible.cpp).
#pragma once

#include "bake/step_context.hpp"
#include "bake/step_log.hpp"
#include "spec/definition.hpp"
#include "util/error.hpp"

namespace kiln::bake {

Status run_step(const spec::Step& step, const StepContext& context, StepLog& log);

} // namespace kiln::bake
