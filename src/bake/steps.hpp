// The step kinds of format v1: packages, shell, file, artifact.
#pragma once

#include "bake/inputs.hpp"
#include "bake/step_log.hpp"
#include "spec/definition.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <filesystem>

namespace kiln::bake {

struct StepContext {
  const spec::Definition& definition;
  const Inputs& inputs;
  std::filesystem::path tree;
  std::filesystem::path scratch; // an empty folder on the host this step may use
  int64_t source_date_epoch = 0;
};

Status run_step(const spec::Step& step, const StepContext& context, StepLog& log);

} // namespace kiln::bake
