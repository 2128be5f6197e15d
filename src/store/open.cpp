#include "store/open.hpp"

#include "store/local/local_store.hpp"
#include "store/s3/s3_store.hpp"

#include <functional>

namespace kiln::store {

namespace {

using Factory = std::function<Expected<std::unique_ptr<Store>>(const std::string& location,
                                                               OpenMode, const RemoteOptions&)>;

struct Backend {
  const char* scheme; // as in SCHEME://REST
  Factory open;       // given the whole location
};

Expected<std::unique_ptr<Store>> open_file_url(const std::string& location, OpenMode mode,
                                               const RemoteOptions&)
{
  return open_local_store(location.substr(7), mode);
}

// The backends by scheme. A location without "://" is a folder: the local backend.
const std::vector<Backend>& backends()
{
  static const std::vector<Backend> table = {
      {"file", open_file_url},
      {"s3", s3::open_s3_store},
  };
  return table;
}

} // namespace

Expected<std::unique_ptr<Store>> open_store(const std::string& location, OpenMode mode,
                                            const RemoteOptions& remote)
{
  auto separator = location.find("://");
  if (separator == std::string::npos)
    return open_local_store(location, mode);
  std::string scheme = location.substr(0, separator);
  for (const auto& backend : backends()) {
    if (scheme == backend.scheme)
      return backend.open(location, mode, remote);
  }
  std::string known;
  for (const auto& backend : backends())
    known += (known.empty() ? "" : ", ") + std::string(backend.scheme) + "://";
  return make_error(ExitCode::usage, "kiln cannot reach the store '" + location + "' yet",
                    "give a folder path or a URL kiln has a backend for (" + known + ")");
}

} // namespace kiln::store
