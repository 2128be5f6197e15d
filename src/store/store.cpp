#include "store/store.hpp"

#include "util/strings.hpp"

namespace kiln::store {

Status check_digest(const std::string& digest)
{
  if (digest.size() == 64 && util::is_lower_hex(digest))
    return ok_status();
  return make_error(ExitCode::usage, "'" + digest + "' is not a sha256 digest");
}

Expected<std::vector<std::string>> Store::get_blobs(const std::vector<std::string>& digests)
{
  std::vector<std::string> blobs;
  blobs.reserve(digests.size());
  for (const auto& digest : digests) {
    auto blob = get_blob(digest);
    if (!blob)
      return std::move(blob).error();
    blobs.push_back(std::move(*blob));
  }
  return blobs;
}

} // namespace kiln::store
