// Downloads through libcurl (https://, http:// and file:// URLs).
#pragma once

#include "util/error.hpp"

#include <filesystem>
#include <functional>
#include <string>

namespace kiln::util {

using DownloadProgress = std::function<void(double done_bytes, double total_bytes)>;

// Fetches `url` into `dest` (overwritten). Stops early when kiln is interrupted.
Status download(const std::string& url, const std::filesystem::path& dest,
                const DownloadProgress& progress);

// The URL with any user:password@ part removed, for logs and errors.
std::string redact_url(std::string_view url);

} // namespace kiln::util
