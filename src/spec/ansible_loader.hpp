// An ansible: step's body.
#pragma once

#include "spec/definition.hpp"
#include "spec/validator.hpp"

#include <optional>
#include <string>
#include <vector>

namespace kiln::spec {

// `where` names the step in messages.
std::optional<AnsibleStep> load_ansible(Validator& validator, const Entry& entry,
                                        const std::string& where);

} // namespace kiln::spec
