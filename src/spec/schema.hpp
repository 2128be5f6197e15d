// The JSON Schema (draft 2020-12) of the definition format, built from spec/fields.
#pragma once

#include <nlohmann/json.hpp>

namespace kiln::spec {

nlohmann::json json_schema();

} // namespace kiln::spec
