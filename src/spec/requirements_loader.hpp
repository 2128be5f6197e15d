// The requirements: section (its network part: network_loader.hpp).
#pragma once

#include "spec/definition.hpp"
#include "spec/validator.hpp"

#include <optional>
#include <string>
#include <vector>

namespace kiln::spec {

Requirements load_requirements(Validator& validator, const Entry& entry);

} // namespace kiln::spec
