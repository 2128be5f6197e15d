// The steps: list.
#pragma once

#include "spec/definition.hpp"
#include "spec/validator.hpp"

#include <optional>
#include <string>
#include <vector>

namespace kiln::spec {

// `secrets` are the names declared in the definition, which steps may refer to.
std::vector<Step> load_steps(Validator& validator, const Entry& steps_entry,
                             const std::vector<std::string>& secrets);

} // namespace kiln::spec
