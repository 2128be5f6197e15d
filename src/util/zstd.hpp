// One-shot zstd compression of small buffers (store chunks). Deterministic for a given zstd
// version and level, so the same chunk compresses to the same bytes.
#pragma once

#include "util/error.hpp"

#include <string>
#include <string_view>

namespace kiln::util {

std::string zstd_compress(std::string_view data, int level = 3);

// Fails when `data` is not one whole zstd frame or does not hold exactly `size` bytes.
Expected<std::string> zstd_decompress(std::string_view data, size_t size);

} // namespace kiln::util
