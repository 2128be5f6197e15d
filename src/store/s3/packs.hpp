// What the S3 backend keeps, as objects below the store's prefix:
//
//   kiln-store.json           the marker: this is a kiln store, and its layout
//   packs/AB/SHA256           a pack: blobs one after the other, then their list (a trailer), so
//                             a pack can be read on its own; named by the sha256 of its bytes
//   index/SHA256              an index object: for each pack, its blobs (digest, offset, length);
//                             a reader loads every index object, in parallel, once
//   documents/KEY             a document (versions, channels, revocations, the audit log)
//   locks/store.MODE-ID       the leases of store.hpp's lock (lease.hpp); locks/documents.*
//                             those of document writes where the server has no conditional
//                             writes; locks/README stays, so that locks/ is never empty
//
// A blob is known to readers once an index object lists it: publish uploads its packs, then
// writes one index object at sync(). A pack no index lists is what an interrupted publish left.
// gc consolidates the index into one object and repacks or deletes packs (s3_store.cpp).
//
// Every index object and pack trailer is hostile input: names, digests, offsets and counts are
// checked before anything uses them.
#pragma once

#include "util/error.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::store::s3 {

struct PackEntry {
  std::string digest; // the blob's
  uint64_t offset = 0;
  uint64_t length = 0;
};

// A pack being filled in memory.
class PackBuilder {
public:
  void add(const std::string& digest, std::string_view blob);
  size_t size() const { return bytes_.size(); }
  bool empty() const { return entries_.empty(); }
  const std::vector<PackEntry>& entries() const { return entries_; }
  // The pack's bytes, with its trailer; the builder is empty after.
  std::string seal();

private:
  std::string bytes_;
  std::vector<PackEntry> entries_;
};

// A pack's name is the sha256 of its bytes; its key is "packs/AB/NAME".
std::string pack_key(const std::string& name);
// The name in "packs/AB/NAME", or "" when the key is not one.
std::string pack_name_of(const std::string& key);

// The entries a pack's trailer lists, checked against the pack's size.
Expected<std::vector<PackEntry>> read_trailer(std::string_view pack);

// packs -> entries.
using Index = std::map<std::string, std::vector<PackEntry>>;

std::string index_to_json(const Index& index);
// `what` names the object in errors.
Expected<Index> index_from_json(std::string_view text, const std::string& what);

// Byte ranges to read for `wanted` entries of one pack: adjacent entries, or ones closer than
// `gap` bytes, are read as one range, up to `longest` bytes (so that a large read is several
// requests in parallel).
struct Range {
  uint64_t first = 0, last = 0; // bytes, both included
  std::vector<size_t> entries;  // indexes into `wanted`, in offset order
};
std::vector<Range> merge_ranges(const std::vector<PackEntry>& wanted, uint64_t gap,
                                uint64_t longest = UINT64_MAX);

} // namespace kiln::store::s3
