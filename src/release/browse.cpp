#include "release/browse.hpp"

#include "release/channels.hpp"
#include "release/pull.hpp"
#include "release/version.hpp"
#include "util/strings.hpp"

namespace kiln::release {

using nlohmann::json;

namespace {

std::string utc(int64_t at)
{
  return util::format_utc(at, "%Y-%m-%dT%H:%M:%SZ");
}

json version_summary(const VersionDocument& d, const ChannelState& state, bool revoked)
{
  const Version& v = d.version;
  return {{"version", v.version},
          {"published", utc(v.published)},
          {"publisher", v.publisher},
          {"size", v.size()},
          {"tests", {{"total", v.tests_total}, {"failed", v.tests_failed}}},
          {"signed", !d.signatures.empty()},
          {"channels", state.channels_at(v.version)},
          {"revoked", revoked}};
}

// The versions of every image whose parent is NAME@VERSION.
Expected<json> children_of(store::Store& store, const Version& parent)
{
  json children = json::array();
  auto images = list_images(store);
  if (!images)
    return std::move(images).error();
  for (const auto& image : *images) {
    auto versions = list_versions(store, image);
    if (!versions)
      return std::move(versions).error();
    for (const auto& version : *versions) {
      auto d = read_version(store, image, version);
      if (!d)
        return std::move(d).error();
      const auto& p = d->version.parent;
      if (p && p->name == parent.name && p->version == parent.version &&
          p->manifest_sha256 == parent.manifest_sha256)
        children.push_back(image + "@" + version);
    }
  }
  return children;
}

} // namespace

Expected<json> list_store(store::Store& store)
{
  auto images = list_images(store);
  if (!images)
    return std::move(images).error();
  json out = json::array();
  for (const auto& name : *images) {
    auto image = read_image_state(store, name, false);
    if (!image)
      return std::move(image).error();
    const auto& versions = image->versions;
    out.push_back({{"name", name},
                   {"versions", versions.size()},
                   {"newest", versions.empty() ? json(nullptr) : json(versions.back())},
                   {"channels", image->channels.pointers}});
  }
  return out;
}

Expected<json> list_image(store::Store& store, const std::string& name)
{
  auto image = read_image_state(store, name, true);
  if (!image)
    return std::move(image).error();
  json out = json::array();
  for (auto it = image->versions.rbegin(); it != image->versions.rend(); ++it) {
    auto d = read_version(store, name, *it);
    if (!d)
      return std::move(d).error();
    auto revocation = read_revocation(store, name, *it);
    if (!revocation)
      return std::move(revocation).error();
    out.push_back(version_summary(*d, image->channels, revocation->has_value()));
  }
  return out;
}

Expected<json> show_version(store::Store& store, const ReleaseConfig& config,
                            const std::string& ref)
{
  auto resolved = resolve(store, config, ref, true);
  if (!resolved)
    return std::move(resolved).error();
  const VersionDocument* d = &resolved->document;
  auto state = read_channels(store, resolved->name);
  if (!state)
    return std::move(state).error();
  auto revocation = read_revocation(store, resolved->name, resolved->version);
  if (!revocation)
    return std::move(revocation).error();
  auto children = children_of(store, d->version);
  if (!children)
    return std::move(children).error();
  const Version& v = d->version;
  json out = version_summary(*d, *state, revocation->has_value());
  out["name"] = v.name;
  out["resolved_by"] = resolved->how;
  out["manifest_sha256"] = v.manifest_sha256;
  out["signatures"] = json::array();
  for (const auto& s : d->signatures)
    out["signatures"].push_back(s.keyid);
  if (*revocation)
    out["revocation"] = {{"reason", (*revocation)->reason},
                         {"by", (*revocation)->by},
                         {"at", utc((*revocation)->at)}};
  out["parent"] = v.parent ? json(v.parent->name + "@" + v.parent->version) : json(nullptr);
  out["children"] = *children;
  out["files"] = json::array();
  for (const auto& f : v.files)
    out["files"].push_back({{"path", f.path},
                            {"size", f.stored.size},
                            {"sha256", f.stored.sha256},
                            {"chunks", f.stored.chunks.size()}});
  return out;
}

Expected<json> show_image(store::Store& store, const std::string& name)
{
  auto image = read_image_state(store, name, true);
  if (!image)
    return std::move(image).error();
  json history = json::array();
  for (const auto& entry : image->channels.history) {
    json e = to_json(entry);
    e["at"] = utc(entry.at);
    history.push_back(e);
  }
  return json{{"name", name},
              {"versions", image->versions},
              {"channels", image->channels.pointers},
              {"history", history}};
}

} // namespace kiln::release
