#include "store/store.hpp"

#include "util/strings.hpp"

namespace kiln::store {

Status check_digest(const std::string& digest)
{
  if (digest.size() == 64 && util::is_lower_hex(digest))
    return ok_status();
  return make_error(ExitCode::usage, "'" + digest + "' is not a sha256 digest");
}

} // namespace kiln::store
