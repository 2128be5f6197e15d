#include "store/open.hpp"

#include "store/local/local_store.hpp"

#include <functional>

namespace kiln::store {

namespace {

using Factory = std::function<Expected<std::unique_ptr<Store>>(const std::string& rest, OpenMode)>;

struct Backend {
  const char* scheme; // as in SCHEME://REST
  Factory open;       // given REST, the location without "SCHEME://"
};

// The backends by scheme. A location without "://" is a folder: the local backend.
const std::vector<Backend>& backends()
{
  static const std::vector<Backend> table = {
      {"file", open_local_store},
  };
  return table;
}

} // namespace

Expected<std::unique_ptr<Store>> open_store(const std::string& location, OpenMode mode)
{
  auto separator = location.find("://");
  if (separator == std::string::npos)
    return open_local_store(location, mode);
  std::string scheme = location.substr(0, separator);
  for (const auto& backend : backends()) {
    if (scheme == backend.scheme)
      return backend.open(location.substr(separator + 3), mode);
  }
  std::string known;
  for (const auto& backend : backends())
    known += (known.empty() ? "" : ", ") + std::string(backend.scheme) + "://";
  return make_error(ExitCode::usage, "kiln cannot reach the store '" + location + "' yet",
                    "give a folder path or a URL kiln has a backend for (" + known + ")");
}

} // namespace kiln::store
