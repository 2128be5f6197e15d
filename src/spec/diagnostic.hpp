// A problem found in a definition, at its place in the file.
#pragma once

#include "spec/definition.hpp"

#include <string>

namespace kiln::spec {

struct Diagnostic {
  std::string file;
  Position position;
  std::string message; // what is wrong
  std::string hint;    // how to fix it; may be empty

  // "FILE:LINE:COL: error: MESSAGE" and, when there is a hint, "  hint: HINT" on a second line.
  std::string str() const;
};

} // namespace kiln::spec
