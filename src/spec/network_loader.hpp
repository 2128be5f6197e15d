// The requirements.network: section.
#pragma once

#include "spec/definition.hpp"
#include "spec/validator.hpp"

#include <optional>
#include <string>
#include <vector>

namespace kiln::spec {

Network load_network(Validator& validator, const Entry& entry);

} // namespace kiln::spec
