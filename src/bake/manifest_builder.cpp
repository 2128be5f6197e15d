#include "bake/manifest_builder.hpp"

#include "util/git.hpp"
#include "util/version.hpp"

#include <set>

namespace kiln::bake {

using nlohmann::json;

nlohmann::json describe_bootstrap(const spec::Bootstrap& boot)
{
  return {{"suite", boot.suite},
          {"variant", boot.variant},
          {"mirror", boot.mirror.empty() ? json(nullptr) : json(boot.mirror)},
          {"components", boot.components},
          {"packages", boot.packages}};
}

namespace {

// What the image was built on: a parent image by digest (its ancestry), or a bootstrap, and the
// catalog entry it came from.
json manifest_base(const spec::Definition& def, const Inputs& inputs)
{
  if (inputs.parent) {
    json base = {{"image",
                  {{"name", inputs.parent->name},
                   {"version", inputs.parent->version},
                   {"rootfs_sha256", inputs.parent->sha256_of(image::out::kRootfsTar)},
                   {"manifest_sha256", inputs.parent->manifest_sha256}}}};
    if (def.base.image_store)
      base["image"]["from_store"] = {{"ref", def.base.image_store->ref},
                                     {"resolved", def.base.image_store->resolved}};
    return base;
  }
  if (inputs.base_disk) {
    const BaseDisk& disk = *inputs.base_disk;
    json described = {{"format", disk.format}, {"sha256", disk.sha256}, {"builder", "vm"}};
    if (!disk.image.empty())
      described["image"] = disk.image;
    if (def.base.disk && def.base.disk->store)
      described["from_store"] = {{"ref", def.base.disk->store->ref},
                                 {"resolved", def.base.disk->store->resolved}};
    return {{"disk", described}};
  }
  json base = {{"bootstrap", describe_bootstrap(def.base.bootstrap)}};
  if (!def.base.catalog.empty())
    base["catalog"] = def.base.catalog;
  return base;
}

json manifest_storage(const spec::Storage& storage)
{
  if (storage.empty())
    return nullptr;
  json mounts = json::array();
  for (const auto& mount : storage.mounts) {
    mounts.push_back(
        {{"path", mount.path}, {"size", mount.size}, {"fs", mount.fs}, {"label", mount.label}});
  }
  return {{"root_size", storage.root_size}, {"mounts", mounts}};
}

// The packages the definition names, without versions or architectures.
std::vector<std::string> requested_packages(const spec::Definition& def, const Inputs& inputs)
{
  std::set<std::string> names;
  auto add = [&](const std::string& spec) {
    names.insert(spec.substr(0, spec.find_first_of("=:")));
  };
  if (!inputs.parent && !inputs.base_disk) {
    for (const auto& package : def.base.bootstrap.packages)
      add(package);
  }
  for (const auto& step : def.steps) {
    if (const auto* packages = std::get_if<spec::PackagesStep>(&step.body)) {
      for (const auto& package : packages->packages)
        add(package);
    }
  }
  return {names.begin(), names.end()};
}

} // namespace

image::Manifest build_manifest(const spec::Definition& def, const Inputs& inputs,
                               const ExportResult& exported, int64_t source_date_epoch)
{
  image::Manifest m;
  m.name = def.name;
  m.version = def.version;
  m.definition_file = def.file.filename().string();
  m.definition_sha256 = inputs.definition_sha256;
  m.inputs = inputs.files;
  m.artifacts = inputs.artifacts;
  m.base = manifest_base(def, inputs);
  m.packages = exported.packages;
  m.os = exported.os;
  m.users = exported.users;
  m.requested = requested_packages(def, inputs);
  m.outputs = exported.outputs;
  m.kiln_version = kVersion;
  m.ansible_version = inputs.ansible_version;
  m.git_commit = util::git_head_commit(def.file);
  m.source_date_epoch = source_date_epoch;
  m.security = exported.security;
  m.storage = manifest_storage(def.requirements.storage);
  return m;
}

} // namespace kiln::bake
