#include "release/fsck.hpp"

#include "release/channels.hpp"
#include "release/provenance.hpp"
#include "release/signatures.hpp"
#include "release/version.hpp"
#include "store/chunks.hpp"
#include "store/shared_layers.hpp"
#include "util/interrupt.hpp"

#include <set>

namespace kiln::release {

using nlohmann::json;

namespace {

void check_version(store::Store& store, const ReleaseConfig& config, const std::string& name,
                   const std::string& version, const std::set<std::string>& blobs,
                   FsckReport& report)
{
  std::string ref = name + "@" + version;
  auto d = read_version(store, name, version);
  if (!d) {
    report.problems.push_back(d.error().message);
    return;
  }
  if (!config.public_key.empty()) {
    if (auto keyid = check_version_signature(*d, config.public_key); !keyid)
      report.problems.push_back(keyid.error().message);
  }
  if (Status provenance = check_provenance(*d, config.public_key); !provenance)
    report.problems.push_back(provenance.error().message);
  for (const auto& file : d->version.files) {
    for (const auto& chunk : file.stored.chunks) {
      if (!blobs.count(chunk.digest)) {
        report.problems.push_back(ref + ": " + file.path + " needs blob " + chunk.digest +
                                  ", which the store lacks");
        break;
      }
    }
  }
}

void check_channels(store::Store& store, const std::string& name,
                    const std::vector<std::string>& versions, FsckReport& report)
{
  auto state = read_channels(store, name);
  if (!state) {
    report.problems.push_back(state.error().message);
    return;
  }
  std::set<std::string> known(versions.begin(), versions.end());
  for (const auto& [channel, version] : state->pointers) {
    ++report.channels;
    if (!known.count(version))
      report.problems.push_back("channel " + channel + " of " + name + " points at " + version +
                                ", which is not published");
  }
}

// The shared cache's layers: signed by the public key (when one is configured), and whole.
void check_shared_layers(store::Store& store, const ReleaseConfig& config,
                         const std::set<std::string>& blobs, FsckReport& report)
{
  auto keys = store::list_shared_layers(store);
  if (!keys) {
    report.problems.push_back(keys.error().message);
    return;
  }
  for (const auto& key : *keys) {
    ++report.cache_layers;
    auto text = store.get_document(store::kSharedLayersPrefix + key);
    if (!text || !*text) {
      report.problems.push_back("shared cache layer " + key + " cannot be read");
      continue;
    }
    auto layer = config.public_key.empty()
                     ? store::parse_shared_layer(**text)
                     : store::check_shared_layer(**text, key, config.public_key);
    if (!layer) {
      report.problems.push_back(layer.error().message);
      continue;
    }
    for (const auto& chunk : layer->archive.chunks) {
      if (!blobs.count(chunk.digest)) {
        report.problems.push_back("shared cache layer " + key + " needs blob " + chunk.digest +
                                  ", which the store lacks");
        break;
      }
    }
  }
}

} // namespace

Expected<FsckReport> fsck(store::Store& store, const ReleaseConfig& config)
{
  auto lock = store.lock(store::Access::shared); // no gc meanwhile
  if (!lock)
    return std::move(lock).error();
  FsckReport report;
  auto blobs = store.list_blobs();
  if (!blobs)
    return std::move(blobs).error();
  std::set<std::string> present;
  for (const auto& blob : *blobs) {
    if (util::interrupt_signal() != 0)
      return make_error(ExitCode::interrupted, "fsck interrupted; nothing was changed");
    ++report.blobs;
    report.blob_bytes += blob.size;
    present.insert(blob.digest);
    if (Status ok = store::check_blob(store, blob.digest); !ok)
      report.problems.push_back(ok.error().message);
  }
  auto images = list_images(store);
  if (!images)
    return std::move(images).error();
  for (const auto& name : *images) {
    auto versions = list_versions(store, name);
    if (!versions)
      return std::move(versions).error();
    for (const auto& version : *versions) {
      ++report.versions;
      check_version(store, config, name, version, present, report);
    }
    check_channels(store, name, *versions, report);
  }
  check_shared_layers(store, config, present, report);
  auto loss = store.index_loss();
  if (!loss)
    return std::move(loss).error();
  if (*loss)
    report.problems.push_back(**loss);
  auto litter = store.list_unindexed();
  if (!litter)
    return std::move(litter).error();
  if (!litter->empty())
    report.notes.push_back(std::to_string(litter->size()) +
                           " stored objects (blob files or packs) that no index lists (left by an "
                           "interrupted publish, or "
                           "being written by a running one); `kiln gc` removes them");
  return report;
}

} // namespace kiln::release
