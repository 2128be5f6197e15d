#include "util/zstd.hpp"

#include <zstd.h>

namespace kiln::util {

std::string zstd_compress(std::string_view data, int level)
{
  std::string out(ZSTD_compressBound(data.size()), '\0');
  size_t written = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), level);
  // With an output of ZSTD_compressBound bytes, compression cannot fail.
  out.resize(ZSTD_isError(written) ? 0 : written);
  return out;
}

Expected<std::string> zstd_decompress(std::string_view data, size_t size)
{
  unsigned long long content = ZSTD_getFrameContentSize(data.data(), data.size());
  if (content == ZSTD_CONTENTSIZE_ERROR || content == ZSTD_CONTENTSIZE_UNKNOWN || content != size)
    return make_error(ExitCode::build_failed,
                      "not a zstd frame of " + std::to_string(size) + " bytes");
  std::string out(size, '\0');
  size_t written = ZSTD_decompress(out.data(), out.size(), data.data(), data.size());
  if (ZSTD_isError(written) || written != size)
    return make_error(ExitCode::build_failed,
                      std::string("damaged zstd data: ") +
                          (ZSTD_isError(written) ? ZSTD_getErrorName(written) : "short"));
  return out;
}

} // namespace kiln::util
