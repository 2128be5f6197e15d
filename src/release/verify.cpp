#include "release/verify.hpp"

#include "release/provenance.hpp"
#include "release/signatures.hpp"
#include "store/chunks.hpp"

namespace kiln::release {

Expected<VerifyReport> verify(store::Store& store, const ReleaseConfig& config,
                              const std::string& ref)
{
  VerifyReport report;
  auto lock = store.lock(store::Access::shared);
  if (!lock)
    return std::move(lock).error();
  auto resolved = resolve(store, config, ref, true);
  if (!resolved)
    return std::move(resolved).error();
  report.resolved = std::move(*resolved);
  const VersionDocument* d = &report.resolved.document;
  std::string id = report.resolved.name + "@" + report.resolved.version;
  report.checked.push_back("version document of " + id + " (" + report.resolved.how +
                           ") is readable");
  if (config.public_key.empty()) {
    report.skipped.push_back("signatures: no public key configured (--public-key, "
                             "KILN_PUBLIC_KEY or signing.public_key in kiln.yaml)");
  } else {
    auto keyid = check_version_signature(*d, config.public_key);
    if (!keyid)
      return std::move(keyid).error();
    report.checked.push_back("signature of the version by " + *keyid);
  }
  KILN_TRY(check_provenance(*d, config.public_key));
  report.checked.push_back(std::string("provenance (in-toto Statement v1, SLSA Provenance v1)") +
                           (config.public_key.empty() ? "" : ", signed by the same key") +
                           ", names every file by its sha256");
  size_t chunks = 0;
  uint64_t bytes = 0;
  for (const auto& file : d->version.files) {
    KILN_TRY(store::check_file(store, file.stored, file.path));
    chunks += file.stored.chunks.size();
    bytes += file.stored.size;
  }
  report.checked.push_back(
      std::to_string(chunks) + " chunks of " + std::to_string(d->version.files.size()) +
      " files, each chunk and each file against its sha256 (" + std::to_string(bytes) + " bytes)");
  if (report.resolved.revoked)
    report.warnings.push_back(id + " is revoked: " + report.resolved.revoked_reason);
  return report;
}

} // namespace kiln::release
