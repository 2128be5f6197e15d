#include "util/error.hpp"

#include <cstring>

namespace kiln {

Error make_error(ExitCode code, std::string message, std::string hint)
{
  return Error{code, std::move(message), std::move(hint), {}};
}

Error errno_error(std::string_view what, std::string_view object, int err, ExitCode code)
{
  std::string message(what);
  message += ' ';
  message += object;
  message += ": ";
  message += std::strerror(err);
  std::string hint;
  if (err == ENOSPC) {
    code = ExitCode::environment;
    hint = "free some space on that filesystem, or choose another place with --out";
  } else if (err == EACCES || err == EPERM) {
    hint = "run kiln as root";
  }
  return Error{code, std::move(message), std::move(hint), {}};
}

} // namespace kiln
