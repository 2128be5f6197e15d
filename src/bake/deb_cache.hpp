// The shared cache of downloaded .deb files (CACHE/debs), given to mmdebstrap and to package steps
// as apt's archive folder so that no bake downloads the same package twice.
//
// apt trusts a .deb already in its archive folder when the size matches, without checking its
// hash, so kiln keeps the trust itself: a .deb enters CACHE/debs/SHA256SUMS only after its sha256
// matched a package index kiln trusts, and before every use each file is checked against that
// record; anything unrecorded or different is removed. The trusted indexes are the ones
// mmdebstrap fetched on the host and checked against the archive's signed Release file (the
// bootstrap layer's lists), never lists a step could have written. Steps see the cache through
// an overlay: what apt downloads there lands in a private folder, which kiln checks and adopts.
#pragma once

#include "bake/step_log.hpp"
#include "image/dpkg.hpp"
#include "util/error.hpp"

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace kiln::bake {

class DebCache {
public:
  explicit DebCache(std::filesystem::path dir) : dir_(std::move(dir)) {}
  DebCache(const DebCache&) = delete;
  ~DebCache() { release(); }

  const std::filesystem::path& dir() const { return dir_; }

  // Locks the cache for one apt run and removes what fails its record. Held until release().
  Status acquire(StepLog& log);

  // After apt ran: records the new .debs found in the package index of `lists` (folders holding
  // apt's *_Packages files, topmost first); removes the ones the index does not vouch for.
  Status record_new(const std::vector<std::filesystem::path>& lists, StepLog& log);

  // After a step's apt ran on the overlay: moves the .debs it downloaded (in `downloaded`) into
  // the cache when `trusted_lists` vouch for them, and forgets the rest.
  Status adopt(const std::filesystem::path& downloaded,
               const std::vector<std::filesystem::path>& trusted_lists, StepLog& log);

  void release();

  // The sha256 of each package's .deb as recorded when it was verified, for the manifest and the
  // provenance; left empty for a package whose .deb the cache no longer holds.
  void add_digests(std::vector<image::Package>& packages) const;

private:
  Status keep_vouched(const std::filesystem::path& from,
                      const std::vector<std::filesystem::path>& lists, StepLog& log);

  std::filesystem::path dir_;
  int lock_fd_ = -1;
};

// apt's file name for a package version, as found in its archive folder.
std::string archive_name(const std::string& package, std::string version, const std::string& arch);

// File name (as apt names it) -> SHA256 for the wanted names, from apt's *_Packages index files.
std::map<std::string, std::string> index_sha256(const std::vector<std::filesystem::path>& lists,
                                                const std::set<std::string>& wanted);

} // namespace kiln::bake
