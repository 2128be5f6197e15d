// Small string helpers that know nothing about images.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::util {

std::vector<std::string> split(std::string_view text, char sep);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
std::string_view trim(std::string_view text);
inline std::string trim_copy(std::string_view text)
{
  return std::string(trim(text));
}

// "90s", "15m", "12h", "7d", "2w" -> seconds; nullopt when malformed.
std::optional<int64_t> parse_duration(std::string_view text);
// "500M", "20G", "1024" (bytes; K, M, G, T are powers of 1024) -> bytes; nullopt when malformed.
std::optional<uint64_t> parse_size(std::string_view text);
bool is_lower_hex(std::string_view text);
std::string upper(std::string_view text);
std::string lower(std::string_view text);

// Edit distance, for "did you mean" suggestions.
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word`, or "" when none is close enough to be a likely typo.
std::string closest_match(std::string_view word, const std::vector<std::string_view>& candidates);

// Quotes a word for display in a shell-like command line (only for showing, never for running).
std::string shell_quote(std::string_view word);
std::string shell_join(const std::vector<std::string>& argv);

// "1.2s", "1m05s".
std::string format_duration(double seconds);
// "512 B", "1.5 MiB".
std::string format_bytes(double bytes);

// A Unix time as UTC with strftime's `format`, e.g. "%Y-%m-%dT%H:%M:%SZ".
std::string format_utc(int64_t epoch, const char* format);

// Text for XML or HTML content and attribute values: & < > " escaped, control characters other
// than tab and newlines (which XML 1.0 cannot hold) replaced by '?'.
std::string escape_markup(std::string_view text);

// Base64 with padding (RFC 4648); decoding fails on any other character or a wrong length.
std::string base64_encode(std::string_view data);
std::optional<std::string> base64_decode(std::string_view text);

} // namespace kiln::util
