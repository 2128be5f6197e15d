#include "util/semver.hpp"

#include "util/strings.hpp"

#include <algorithm>
#include <charconv>
#include <tuple>

namespace kiln::util {

namespace {

bool all_digits(std::string_view text)
{
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool valid_identifier_chars(std::string_view text)
{
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
  });
}

Error version_error(std::string_view text, const std::string& why)
{
  return make_error(ExitCode::invalid_definition,
                    "'" + std::string(text) + "' is not a semantic version: " + why,
                    "write MAJOR.MINOR.PATCH, e.g. 1.4.0 or 1.4.0-rc.1");
}

Expected<uint64_t> parse_number(std::string_view whole, std::string_view part, const char* name)
{
  if (!all_digits(part))
    return version_error(whole, std::string(name) + " must be a number");
  if (part.size() > 1 && part[0] == '0')
    return version_error(whole, std::string(name) + " must not have leading zeros");
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
  if (ec != std::errc() || end != part.data() + part.size())
    return version_error(whole, std::string(name) + " is too large");
  return value;
}

Expected<std::vector<std::string>> parse_identifiers(std::string_view whole, std::string_view part,
                                                     bool prerelease)
{
  const char* name = prerelease ? "pre-release" : "build metadata";
  auto identifiers = split(part, '.');
  for (const auto& id : identifiers) {
    if (id.empty())
      return version_error(whole, std::string(name) + " has an empty identifier");
    if (!valid_identifier_chars(id))
      return version_error(whole, std::string(name) + " identifier '" + id +
                                      "' may only hold [0-9A-Za-z-]");
    if (prerelease && all_digits(id) && id.size() > 1 && id[0] == '0')
      return version_error(whole, "numeric pre-release identifier '" + id +
                                      "' must not have leading zeros");
  }
  return identifiers;
}

} // namespace

std::string Version::str() const
{
  std::string out =
      std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
  if (!prerelease.empty())
    out += "-" + join(prerelease, ".");
  if (!build.empty())
    out += "+" + join(build, ".");
  return out;
}

Expected<Version> parse_version(std::string_view text)
{
  Version version;
  std::string_view rest = text;
  size_t plus = rest.find('+');
  if (plus != std::string_view::npos) {
    auto build = parse_identifiers(text, rest.substr(plus + 1), false);
    if (!build)
      return std::move(build).error();
    version.build = std::move(*build);
    rest = rest.substr(0, plus);
  }
  size_t dash = rest.find('-');
  if (dash != std::string_view::npos) {
    auto pre = parse_identifiers(text, rest.substr(dash + 1), true);
    if (!pre)
      return std::move(pre).error();
    version.prerelease = std::move(*pre);
    rest = rest.substr(0, dash);
  }
  auto core = split(rest, '.');
  if (core.size() != 3)
    return version_error(text, "it needs exactly three numbers MAJOR.MINOR.PATCH");
  const char* names[] = {"MAJOR", "MINOR", "PATCH"};
  uint64_t* fields[] = {&version.major, &version.minor, &version.patch};
  for (int i = 0; i < 3; ++i) {
    auto number = parse_number(text, core[i], names[i]);
    if (!number)
      return std::move(number).error();
    *fields[i] = *number;
  }
  return version;
}

static std::strong_ordering compare_identifier(const std::string& a, const std::string& b)
{
  bool a_numeric = all_digits(a);
  bool b_numeric = all_digits(b);
  if (a_numeric && b_numeric) {
    if (a.size() != b.size())
      return a.size() <=> b.size(); // no leading zeros, so longer means larger
    return a.compare(b) <=> 0;
  }
  if (a_numeric != b_numeric)
    return a_numeric ? std::strong_ordering::less : std::strong_ordering::greater;
  return a.compare(b) <=> 0;
}

std::strong_ordering compare(const Version& a, const Version& b)
{
  if (auto c = std::tie(a.major, a.minor, a.patch) <=> std::tie(b.major, b.minor, b.patch); c != 0)
    return c;
  // A version without pre-release identifiers ranks above one with them.
  if (a.prerelease.empty() || b.prerelease.empty())
    return a.prerelease.empty() <=> b.prerelease.empty();
  size_t common = std::min(a.prerelease.size(), b.prerelease.size());
  for (size_t i = 0; i < common; ++i) {
    if (auto c = compare_identifier(a.prerelease[i], b.prerelease[i]); c != 0)
      return c;
  }
  return a.prerelease.size() <=> b.prerelease.size();
}

namespace {

Error range_error(std::string_view text, const std::string& why)
{
  return make_error(ExitCode::usage, "'" + std::string(text) + "' is not a version range: " + why,
                    "write an exact version (1.4.0), ^1.2, ~1.2.3, 1.x or *");
}

bool wildcard(std::string_view part)
{
  return part == "x" || part == "X" || part == "*";
}

// The numbers of a partial version ("1", "1.2", "1.2.3", "1.x"), up to the first wildcard.
Expected<std::vector<uint64_t>> leading_numbers(std::string_view whole, std::string_view text)
{
  std::vector<uint64_t> numbers;
  auto parts = split(text, '.');
  if (parts.size() > 3)
    return range_error(whole, "more than three numbers");
  bool wild = false;
  for (const auto& part : parts) {
    if (wildcard(part)) {
      wild = true;
      continue;
    }
    if (wild)
      return range_error(whole, "a number after a wildcard");
    if (!all_digits(part))
      return range_error(whole, "'" + part + "' is not a number");
    auto number = parse_number(whole, part, "each number");
    if (!number)
      return range_error(whole, "'" + part + "' is not a plain number");
    numbers.push_back(*number);
  }
  return numbers;
}

Version make_version(uint64_t major, uint64_t minor, uint64_t patch)
{
  Version v;
  v.major = major;
  v.minor = minor;
  v.patch = patch;
  return v;
}

// The first version after every version that starts with `numbers` (1.2 -> 1.3.0).
std::optional<Version> next_after(const std::vector<uint64_t>& numbers)
{
  if (numbers.empty())
    return std::nullopt;
  if (numbers.size() == 1)
    return make_version(numbers[0] + 1, 0, 0);
  if (numbers.size() == 2)
    return make_version(numbers[0], numbers[1] + 1, 0);
  return make_version(numbers[0], numbers[1], numbers[2] + 1);
}

} // namespace

Expected<VersionRange> parse_range(std::string_view text)
{
  VersionRange range;
  range.text = std::string(text);
  if (text.empty())
    return range_error(text, "it is empty");
  char op = text[0] == '^' || text[0] == '~' ? text[0] : 0;
  std::string_view rest = op ? text.substr(1) : text;
  if (!op) {
    if (auto exact = parse_version(rest)) {
      range.low = *exact;
      range.exact = true;
      return range;
    }
  }
  // A caret or tilde range may start from a full version, pre-release included.
  if (op) {
    if (auto full = parse_version(rest)) {
      range.low = *full;
      std::vector<uint64_t> numbers = {full->major, full->minor, full->patch};
      if (op == '~')
        numbers.resize(2);
      else
        numbers.resize(full->major ? 1 : full->minor ? 2 : 3);
      range.high = next_after(numbers);
      return range;
    }
  }
  auto numbers = leading_numbers(text, rest);
  if (!numbers)
    return std::move(numbers).error();
  if (op && numbers->empty())
    return range_error(text, std::string("'") + op + "' needs a version after it");
  // A partial version means every version that starts with it; ^ and ~ narrow from there.
  std::vector<uint64_t> low = *numbers;
  low.resize(3, 0);
  range.low = make_version(low[0], low[1], low[2]);
  std::vector<uint64_t> prefix = *numbers;
  if (op == '~' && prefix.size() > 2)
    prefix.resize(2);
  if (op == '^') {
    size_t keep = 1;
    while (keep < prefix.size() && prefix[keep - 1] == 0)
      ++keep;
    prefix.resize(keep);
  }
  range.high = next_after(prefix);
  return range;
}

bool satisfies(const Version& version, const VersionRange& range)
{
  if (range.exact)
    return compare(version, range.low) == 0;
  if (!version.prerelease.empty()) {
    const Version& low = range.low;
    bool same_core =
        low.major == version.major && low.minor == version.minor && low.patch == version.patch;
    if (low.prerelease.empty() || !same_core)
      return false;
  }
  if (compare(version, range.low) < 0)
    return false;
  return !range.high || compare(version, *range.high) < 0;
}

std::optional<Version> best_match(const std::vector<Version>& versions, const VersionRange& range)
{
  std::optional<Version> best;
  for (const auto& version : versions) {
    if (satisfies(version, range) && (!best || compare(*best, version) < 0))
      best = version;
  }
  return best;
}

} // namespace kiln::util
