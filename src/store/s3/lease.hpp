// A lock on a store that has no lock: leases, as objects below a prefix.
//
// To take the lock, a user writes its lease object (DOMAIN + MODE-RANDOM), then lists every
// lease of the domain. Leases younger than the lease time, by the server's clock (an object's
// LastModified against the Date of the listing), are live. A user holds the lock when no live
// lease conflicts with its own (an exclusive one conflicts with every other; shared ones with
// exclusive ones only). Otherwise the oldest of the conflicting leases stays and lists again,
// and the others withdraw theirs and try again after a random wait.
//
// Why two users cannot both hold it: each listed after writing its own lease, so the one that
// listed last saw the other's lease, which was never withdrawn while its owner held or waited.
// This needs what S3 gives since 2020: a listing shows every object written before it began.
//
// A holder rewrites its lease every quarter of the lease time, so it stays live while the work
// runs; one that crashed stops doing so, and its lease is dead, and removed, after the lease time.
#pragma once

#include "cloud/s3.hpp"
#include "store/store.hpp"

#include <memory>
#include <string>

namespace kiln::store::s3 {

struct LeaseSettings {
  int64_t lease_seconds = 60;
  double wait_limit = 1800;   // seconds before giving up on a lock another holds
  double longest_pause = 1.0; // between listings while waiting
};

// Takes the lock of `domain` (a key prefix: "PREFIX/locks/store.") in `mode`; `renew` keeps a
// thread that rewrites the lease while it is held (for work longer than a few seconds).
Expected<std::unique_ptr<StoreLock>> take_lease(cloud::S3Client& client, const std::string& domain,
                                                Access mode, bool renew,
                                                const LeaseSettings& settings = {});

} // namespace kiln::store::s3
