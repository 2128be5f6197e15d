#include "spec/diagnostic.hpp"

namespace kiln::spec {

std::string Diagnostic::str() const
{
  std::string out = file;
  if (position.line > 0)
    out += ":" + std::to_string(position.line) + ":" + std::to_string(position.column);
  out += ": error: " + message;
  if (!hint.empty())
    out += "\n  hint: " + hint;
  return out;
}

} // namespace kiln::spec
