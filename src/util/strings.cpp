#include "util/strings.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <numeric>

namespace kiln::util {

std::vector<std::string> split(std::string_view text, char sep)
{
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t end = text.find(sep, start);
    parts.emplace_back(text.substr(start, end - start));
    if (end == std::string_view::npos)
      break;
    start = end + 1;
  }
  return parts;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep)
{
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0)
      out += sep;
    out += parts[i];
  }
  return out;
}

std::string_view trim(std::string_view text)
{
  const char* space = " \t\r\n";
  size_t first = text.find_first_not_of(space);
  if (first == std::string_view::npos)
    return {};
  size_t last = text.find_last_not_of(space);
  return text.substr(first, last - first + 1);
}

bool is_lower_hex(std::string_view text)
{
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string upper(std::string_view text)
{
  std::string out(text);
  for (auto& c : out)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string lower(std::string_view text)
{
  std::string out(text);
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

size_t edit_distance(std::string_view a, std::string_view b)
{
  std::vector<size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), 0);
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + cost});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string closest_match(std::string_view word, const std::vector<std::string_view>& candidates)
{
  std::string best;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;
  for (auto candidate : candidates) {
    size_t distance = edit_distance(word, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  return best;
}

std::string shell_quote(std::string_view word)
{
  bool plain = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("-_./=:,+@%").find(c) != std::string_view::npos;
  });
  if (plain)
    return std::string(word);
  std::string out = "'";
  for (char c : word) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  out += '\'';
  return out;
}

std::string shell_join(const std::vector<std::string>& argv)
{
  std::vector<std::string> quoted;
  quoted.reserve(argv.size());
  for (const auto& arg : argv)
    quoted.push_back(shell_quote(arg));
  return join(quoted, " ");
}

std::string format_duration(double seconds)
{
  char buffer[32];
  if (seconds < 60) {
    std::snprintf(buffer, sizeof buffer, "%.1fs", seconds);
  } else {
    int whole = static_cast<int>(seconds);
    std::snprintf(buffer, sizeof buffer, "%dm%02ds", whole / 60, whole % 60);
  }
  return buffer;
}

std::string format_bytes(double bytes)
{
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, unit == 0 ? "%.0f %s" : "%.1f %s", bytes, units[unit]);
  return buffer;
}

static std::optional<std::pair<uint64_t, char>> number_and_unit(std::string_view text)
{
  text = trim(text);
  if (text.empty())
    return std::nullopt;
  char unit = std::isdigit(static_cast<unsigned char>(text.back())) ? '\0' : text.back();
  std::string_view digits = unit ? text.substr(0, text.size() - 1) : text;
  if (digits.empty() || digits.size() > 15 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return std::make_pair(std::stoull(std::string(digits)), unit);
}

std::optional<int64_t> parse_duration(std::string_view text)
{
  auto parsed = number_and_unit(text);
  if (!parsed)
    return std::nullopt;
  const std::pair<char, int64_t> units[] = {
      {'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 7 * 86400}};
  for (auto [unit, seconds] : units) {
    if (parsed->second == unit)
      return static_cast<int64_t>(parsed->first) * seconds;
  }
  return std::nullopt;
}

std::optional<uint64_t> parse_size(std::string_view text)
{
  auto parsed = number_and_unit(text);
  if (!parsed)
    return std::nullopt;
  const std::pair<char, uint64_t> units[] = {
      {'\0', 1}, {'K', 1ull << 10}, {'M', 1ull << 20}, {'G', 1ull << 30}, {'T', 1ull << 40}};
  for (auto [unit, bytes] : units) {
    if (std::toupper(static_cast<unsigned char>(parsed->second)) == unit)
      return parsed->first * bytes;
  }
  return std::nullopt;
}

std::string format_utc(int64_t epoch, const char* format)
{
  std::time_t t = static_cast<std::time_t>(epoch);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char text[64];
  std::strftime(text, sizeof text, format, &tm);
  return text;
}

std::string escape_markup(std::string_view text)
{
  std::string out;
  for (char c : text) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    default:
      bool control = static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r';
      out += control ? '?' : c;
    }
  }
  return out;
}

std::string base64_encode(std::string_view data)
{
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(data[i]) << 16) |
                 (static_cast<unsigned char>(data[i + 1]) << 8) |
                 static_cast<unsigned char>(data[i + 2]);
    out += {table[v >> 18], table[(v >> 12) & 63], table[(v >> 6) & 63], table[v & 63]};
  }
  if (i + 1 == data.size()) {
    unsigned v = static_cast<unsigned char>(data[i]) << 16;
    out += {table[v >> 18], table[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == data.size()) {
    unsigned v = (static_cast<unsigned char>(data[i]) << 16) |
                 (static_cast<unsigned char>(data[i + 1]) << 8);
    out += {table[v >> 18], table[(v >> 12) & 63], table[(v >> 6) & 63], '='};
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text)
{
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z')
      return c - 'A';
    if (c >= 'a' && c <= 'z')
      return c - 'a' + 26;
    if (c >= '0' && c <= '9')
      return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
  };
  if (text.size() % 4 != 0)
    return std::nullopt;
  size_t padding = text.size() - std::min(text.find_last_not_of('=') + 1, text.size());
  if (padding > 2)
    return std::nullopt;
  std::string out;
  unsigned bits = 0;
  int count = 0;
  for (char c : text.substr(0, text.size() - padding)) {
    int v = value(c);
    if (v < 0)
      return std::nullopt;
    bits = (bits << 6) | static_cast<unsigned>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xff);
    }
  }
  return out;
}

} // namespace kiln::util
