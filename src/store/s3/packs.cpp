#include "store/s3/packs.hpp"

#include "store/store.hpp"
#include "util/hash.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace kiln::store::s3 {

namespace {

using nlohmann::json;

constexpr std::string_view kMagic = "KILNPAK1";
constexpr size_t kMaxEntries = 1 << 20; // a pack of tens of MiB holds thousands, never a million

json entries_to_json(const std::vector<PackEntry>& entries)
{
  json list = json::array();
  for (const auto& e : entries)
    list.push_back({e.digest, e.offset, e.length});
  return list;
}

Expected<std::vector<PackEntry>> entries_from_json(const json& list, const std::string& what)
{
  if (!list.is_array() || list.size() > kMaxEntries)
    return make_error(ExitCode::input, what + " lists its blobs wrongly");
  std::vector<PackEntry> entries;
  for (const auto& item : list) {
    if (!item.is_array() || item.size() != 3 || !item[0].is_string() ||
        !item[1].is_number_unsigned() || !item[2].is_number_unsigned())
      return make_error(ExitCode::input,
                        what + " has an entry that is not [digest, offset, length]");
    PackEntry entry{item[0].get<std::string>(), item[1].get<uint64_t>(), item[2].get<uint64_t>()};
    if (!check_digest(entry.digest) || entry.offset + entry.length < entry.offset)
      return make_error(ExitCode::input, what + " has an entry with a bad digest or range");
    entries.push_back(std::move(entry));
  }
  return entries;
}

} // namespace

void PackBuilder::add(const std::string& digest, std::string_view blob)
{
  entries_.push_back({digest, bytes_.size(), blob.size()});
  bytes_.append(blob);
}

std::string PackBuilder::seal()
{
  std::string trailer = json{{"kiln_pack", 1}, {"blobs", entries_to_json(entries_)}}.dump();
  std::string out = std::move(bytes_);
  out += trailer;
  uint64_t length = trailer.size();
  for (int i = 0; i < 8; ++i)
    out += static_cast<char>((length >> (8 * i)) & 0xff);
  out += kMagic;
  bytes_.clear();
  entries_.clear();
  return out;
}

std::string pack_key(const std::string& name)
{
  return "packs/" + name.substr(0, 2) + "/" + name;
}

std::string pack_name_of(const std::string& key)
{
  if (key.size() != 6 + 3 + 64 || key.rfind("packs/", 0) != 0 || key[8] != '/')
    return "";
  std::string name = key.substr(9);
  if (!util::is_lower_hex(name) || name.substr(0, 2) != key.substr(6, 2))
    return "";
  return name;
}

Expected<std::vector<PackEntry>> read_trailer(std::string_view pack)
{
  if (pack.size() < 16 || pack.substr(pack.size() - 8) != kMagic)
    return make_error(ExitCode::input, "the pack has no kiln trailer");
  uint64_t length = 0;
  for (int i = 0; i < 8; ++i)
    length |= static_cast<uint64_t>(static_cast<unsigned char>(pack[pack.size() - 16 + i]))
              << (8 * i);
  if (length > pack.size() - 16)
    return make_error(ExitCode::input, "the pack's trailer is longer than the pack");
  uint64_t data_end = pack.size() - 16 - length;
  json trailer = json::parse(pack.substr(data_end, length), nullptr, false);
  if (!trailer.is_object() || !trailer.contains("blobs"))
    return make_error(ExitCode::input, "the pack's trailer is not a kiln pack list");
  auto entries = entries_from_json(trailer["blobs"], "the pack's trailer");
  if (!entries)
    return entries;
  for (const auto& e : *entries) {
    if (e.offset + e.length > data_end)
      return make_error(ExitCode::input, "the pack's trailer names bytes past its blobs");
  }
  return entries;
}

std::string index_to_json(const Index& index)
{
  json packs = json::object();
  for (const auto& [name, entries] : index)
    packs[name] = entries_to_json(entries);
  return json{{"kiln_index", 1}, {"packs", packs}}.dump();
}

Expected<Index> index_from_json(std::string_view text, const std::string& what)
{
  json document = json::parse(text, nullptr, false);
  if (!document.is_object() || document.value("kiln_index", 0) != 1 ||
      !document.contains("packs") || !document["packs"].is_object())
    return make_error(ExitCode::input, what + " is not a kiln index object");
  Index index;
  for (const auto& [name, list] : document["packs"].items()) {
    if (name.size() != 64 || !util::is_lower_hex(name))
      return make_error(ExitCode::input,
                        what + " names a pack that is not a sha256: " + name.substr(0, 80));
    auto entries = entries_from_json(list, what);
    if (!entries)
      return std::move(entries).error();
    index[name] = std::move(*entries);
  }
  return index;
}

std::vector<Range> merge_ranges(const std::vector<PackEntry>& wanted, uint64_t gap,
                                uint64_t longest)
{
  std::vector<size_t> order(wanted.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return wanted[a].offset < wanted[b].offset; });
  std::vector<Range> ranges;
  for (size_t i : order) {
    const PackEntry& e = wanted[i];
    uint64_t last = e.length ? e.offset + e.length - 1 : e.offset;
    if (!ranges.empty() && e.offset <= ranges.back().last + 1 + gap &&
        last - ranges.back().first < longest) {
      ranges.back().last = std::max(ranges.back().last, last);
    } else {
      ranges.push_back({e.offset, last, {}});
    }
    ranges.back().entries.push_back(i);
  }
  return ranges;
}

} // namespace kiln::store::s3
