// The base tree, bootstrapped by mmdebstrap.
#pragma once

#include "bake/step_log.hpp"
#include "spec/definition.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <filesystem>

namespace kiln::bake {

Status bootstrap(const spec::Bootstrap& base, const std::filesystem::path& tree,
                 int64_t source_date_epoch, StepLog& log);

} // namespace kiln::bake
