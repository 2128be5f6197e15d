// Image tests and the software report's tools.
#pragma once

#include "spec/definition.hpp"
#include "spec/validator.hpp"

#include <optional>
#include <string>
#include <vector>

namespace kiln::spec {

// A tests: list, the definition's or a step's; `where` names it in messages. `boot` receives a
// `- boot: true` item (the definition's list only: null for a step's, where it is an error).
std::vector<ImageTest> load_tests(Validator& validator, const Entry& entry,
                                  const std::string& where, bool* boot = nullptr);

// The report: list of tools.
std::vector<ReportCommand> load_report(Validator& validator, const Entry& entry);

} // namespace kiln::spec
