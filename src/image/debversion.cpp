#include "image/debversion.hpp"

#include <cctype>

namespace kiln::image {

namespace {

struct Parts {
  long epoch = 0;
  std::string_view upstream;
  std::string_view revision;
};

Parts split(std::string_view version)
{
  Parts parts;
  if (size_t colon = version.find(':'); colon != std::string_view::npos) {
    parts.epoch = std::strtol(std::string(version.substr(0, colon)).c_str(), nullptr, 10);
    version.remove_prefix(colon + 1);
  }
  if (size_t dash = version.rfind('-'); dash != std::string_view::npos) {
    parts.revision = version.substr(dash + 1);
    version = version.substr(0, dash);
  }
  parts.upstream = version;
  return parts;
}

// The sort weight of a character in the non-digit parts: '~' before everything, even the end;
// letters before the other characters.
int weight(std::string_view s, size_t i)
{
  if (i >= s.size())
    return 0;
  unsigned char c = static_cast<unsigned char>(s[i]);
  if (std::isdigit(c))
    return 0;
  if (std::isalpha(c))
    return c;
  if (c == '~')
    return -1;
  return c + 256;
}

bool digit_at(std::string_view s, size_t i)
{
  return i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]));
}

// Alternating non-digit and digit parts, compared left to right.
int compare_part(std::string_view a, std::string_view b)
{
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    while ((i < a.size() && !digit_at(a, i)) || (j < b.size() && !digit_at(b, j))) {
      int wa = weight(a, i), wb = weight(b, j);
      if (wa != wb)
        return wa - wb;
      ++i;
      ++j;
    }
    while (i < a.size() && a[i] == '0')
      ++i;
    while (j < b.size() && b[j] == '0')
      ++j;
    int first_difference = 0;
    while (digit_at(a, i) && digit_at(b, j)) {
      if (first_difference == 0)
        first_difference = a[i] - b[j];
      ++i;
      ++j;
    }
    if (digit_at(a, i))
      return 1;
    if (digit_at(b, j))
      return -1;
    if (first_difference != 0)
      return first_difference;
  }
  return 0;
}

} // namespace

int compare_debian_versions(std::string_view a, std::string_view b)
{
  Parts pa = split(a), pb = split(b);
  if (pa.epoch != pb.epoch)
    return pa.epoch < pb.epoch ? -1 : 1;
  if (int c = compare_part(pa.upstream, pb.upstream); c != 0)
    return c;
  return compare_part(pa.revision, pb.revision);
}

std::optional<bool> satisfies(std::string_view version, std::string_view constraint)
{
  static const std::string_view operators[] = {">=", "<=", ">>", "<<", "="};
  for (std::string_view op : operators) {
    if (constraint.substr(0, op.size()) != op)
      continue;
    std::string_view wanted = constraint.substr(op.size());
    while (!wanted.empty() && wanted.front() == ' ')
      wanted.remove_prefix(1);
    if (wanted.empty())
      return std::nullopt;
    int c = compare_debian_versions(version, wanted);
    if (op == ">=")
      return c >= 0;
    if (op == "<=")
      return c <= 0;
    if (op == ">>")
      return c > 0;
    if (op == "<<")
      return c < 0;
    return c == 0;
  }
  return std::nullopt;
}

} // namespace kiln::image
