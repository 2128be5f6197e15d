#include "bake/plan.hpp"

#include "bake/boot_layer.hpp"
#include "util/hash.hpp"

#include <sys/utsname.h>

namespace kiln::bake {

using nlohmann::json;

namespace {

// Version of what goes into layers and exports; bump it when a layer's content would change for
// the same inputs (a different bootstrap option, a different copy script, ...).
constexpr int kLayerVersion = 1;
// 2: licenses, os-release; 3: users, unowned files; 4: cloud-init state, disks; 5: hostname
constexpr int kExportVersion = 5;
// What the VM builder's capture keeps and removes (vm_build.cpp); bump when that changes.
constexpr int kVmVersion = 1;

std::string digest_of(const Inputs& inputs, const std::string& path)
{
  for (const auto& file : inputs.files) {
    if (file.path == path)
      return file.sha256;
  }
  return {};
}

json optional_mode(const std::optional<mode_t>& mode)
{
  return mode ? json(*mode) : json(nullptr);
}

json canonical_step(const spec::Step& step, const Inputs& inputs)
{
  if (const auto* packages = std::get_if<spec::PackagesStep>(&step.body))
    return {{"packages", packages->packages}};
  if (const auto* shell = std::get_if<spec::ShellStep>(&step.body)) {
    if (!shell->script.empty())
      return {{"script", shell->script}, {"script_sha256", digest_of(inputs, shell->script)}};
    return {{"run", shell->run}};
  }
  if (const auto* file = std::get_if<spec::FileStep>(&step.body)) {
    return {{"src", file->src},
            {"src_sha256", digest_of(inputs, file->src)},
            {"dest", file->dest},
            {"mode", optional_mode(file->mode)},
            {"owner", file->owner}};
  }
  if (const auto* ansible = std::get_if<spec::AnsibleStep>(&step.body)) {
    return {{"playbook", ansible->playbook},
            {"folder_sha256", digest_of(inputs, ansible->folder())},
            {"roles_path", ansible->roles_path},
            {"roles_sha256", digest_of(inputs, ansible->roles_path)},
            {"extra_vars", ansible->extra_vars},
            {"tags", ansible->tags},
            {"group", ansible->group},
            {"keep_python", ansible->keep_python},
            {"ansible", inputs.ansible_version}};
  }
  // The download is known by its sha256: a new URL for the same bytes is the same layer.
  const auto& artifact = std::get<spec::ArtifactStep>(step.body);
  return {{"sha256", artifact.sha256},
          {"dest", artifact.dest},
          {"extract_to", artifact.extract_to},
          {"mode", optional_mode(artifact.mode)},
          {"strip_components", artifact.strip_components}};
}

json canonical_requirements(const spec::Definition& definition, const Inputs& inputs)
{
  json groups = json::array();
  for (const auto& group : definition.requirements.groups)
    groups.push_back({{"name", group.name}, {"gid", group.gid ? json(*group.gid) : json(nullptr)}});
  json users = json::array();
  for (const auto& user : definition.requirements.users) {
    users.push_back({{"name", user.name},
                     {"uid", user.uid ? json(*user.uid) : json(nullptr)},
                     {"shell", user.shell},
                     {"home", user.home},
                     {"groups", user.groups},
                     {"sudo", user.sudo},
                     {"authorized_keys", user.authorized_keys}});
  }
  const auto& network = definition.requirements.network;
  json hosts = json::array();
  for (const auto& host : network.hosts)
    hosts.push_back({{"ip", host.ip}, {"names", host.names}});
  json certificates = json::object();
  for (const auto& file : network.ca_certificates)
    certificates[file] = digest_of(inputs, file);
  json result = {{"kind", "requirements"}, {"groups", groups}, {"users", users}};
  if (const auto& d = definition.requirements.domain; !d.empty()) {
    result["domain"] = {{"realm", d.realm},
                        {"join_user", d.join_user},
                        {"computer_ou", d.computer_ou},
                        {"credential", d.credential}};
  }
  if (!definition.requirements.storage.empty()) {
    json mounts = json::array();
    for (const auto& m : definition.requirements.storage.mounts)
      mounts.push_back({{"path", m.path}, {"size", m.size}, {"fs", m.fs}, {"label", m.label}});
    result["storage"] = {{"root_size", definition.requirements.storage.root_size},
                         {"mounts", mounts}};
  }
  if (!definition.requirements.security.baseline.empty()) {
    result["security"] = {{"baseline", definition.requirements.security.baseline},
                          {"waive", definition.requirements.security.waive}};
  }
  if (!network.empty()) {
    result["network"] = {{"proxy", network.proxy},         {"https_proxy", network.https_proxy},
                         {"no_proxy", network.no_proxy},   {"dns", network.dns},
                         {"search", network.search},       {"hosts", hosts},
                         {"ca_certificates", certificates}};
  }
  return result;
}

std::string describe_change(const std::string& field, const json& now)
{
  if (field == "disk_sha256")
    return "the base disk changed";
  if (field == "steps")
    return "a step changed";
  if (field == "parent")
    return "the layer below it changed";
  if (field == "script_sha256")
    return "script " + now.value("script", std::string()) + " changed";
  if (field == "src_sha256")
    return now.value("src", std::string()) + " changed";
  if (field == "folder_sha256")
    return "the playbook folder of " + now.value("playbook", std::string()) + " changed";
  if (field == "roles_sha256")
    return "the roles in " + now.value("roles_path", std::string()) + " changed";
  if (field == "ansible")
    return "the build host's Ansible changed";
  if (field == "domain")
    return "the domain settings changed";
  if (field == "storage")
    return "the storage settings changed";
  if (field == "security")
    return "the security settings changed";
  if (field == "network")
    return "the network settings changed";
  if (field == "secrets")
    return "a secret it uses changed";
  return field + " changed";
}

} // namespace

std::string machine()
{
  struct utsname name {};
  ::uname(&name);
  return name.machine;
}

size_t first_step_layer(const spec::Definition& definition)
{
  return definition.requirements.empty() ? 1 : 2;
}

namespace {

json step_inputs(const spec::Step& step, const Inputs& inputs)
{
  json canonical = canonical_step(step, inputs);
  canonical["kind"] = step.kind();
  if (!step.secrets.empty()) {
    // Never a value: the HMAC changes when the value does, and tells nothing about it.
    json secrets = json::object();
    for (const auto& name : step.secrets) {
      auto hmac = inputs.secret_hmacs.find(name);
      secrets[name] = hmac == inputs.secret_hmacs.end() ? "" : hmac->second;
    }
    canonical["secrets"] = secrets;
    canonical["secret_env"] = step.secret_env;
  }
  if (step.offline)
    canonical["network"] = "none";
  if (step.reboot)
    canonical["reboot"] = true;
  return canonical;
}

// Steps that fetch packages go stale with the mirror (--max-age).
bool expires(const spec::Step& step)
{
  return step.kind() == "packages" || step.kind() == "ansible";
}

// builder: vm: one layer, the whole tree captured from the machine after every step ran, known
// by the base disk and the steps; then kiln's boot layer on it, as for the tree builder.
std::vector<LayerSpec> vm_layer_specs(const spec::Definition& definition, const Inputs& inputs)
{
  json steps = json::array();
  bool stale = false;
  for (const auto& step : definition.steps) {
    steps.push_back(step_inputs(step, inputs));
    stale = stale || expires(step);
  }
  std::string disk = inputs.base_disk ? inputs.base_disk->sha256 : "";
  std::vector<LayerSpec> specs = {
      {"base",
       "vm",
       {{"disk_sha256", disk}, {"steps", steps}, {"architecture", machine()}, {"vm", kVmVersion}},
       stale}};
  if (spec::wants_disk(definition))
    specs.push_back({"kiln-boot", "boot", boot_layer_inputs(machine()), true});
  return specs;
}

} // namespace

std::vector<LayerSpec> layer_specs(const spec::Definition& definition, const Inputs& inputs)
{
  if (definition.builder == spec::Builder::vm)
    return vm_layer_specs(definition, inputs);
  const auto& boot = definition.base.bootstrap;
  std::vector<LayerSpec> specs;
  if (inputs.parent) {
    // The parent is known by the digest of its rootfs: a rebuilt parent is a new base.
    specs.push_back({"base",
                     "image",
                     {{"image", inputs.parent->name},
                      {"version", inputs.parent->version},
                      {"rootfs_sha256", inputs.parent->sha256_of(image::out::kRootfsTar)}},
                     false});
  } else {
    specs.push_back({"base",
                     "bootstrap",
                     {{"suite", boot.suite},
                      {"variant", boot.variant},
                      {"mirror", boot.mirror},
                      {"components", boot.components},
                      {"packages", boot.packages},
                      {"architecture", machine()}},
                     true});
  }
  if (!definition.requirements.empty())
    specs.push_back(
        {"requirements", "requirements", canonical_requirements(definition, inputs), false});
  for (const auto& step : definition.steps)
    specs.push_back({step.name, step.kind(), step_inputs(step, inputs), expires(step)});
  if (spec::wants_disk(definition))
    specs.push_back({"kiln-boot", "boot", boot_layer_inputs(machine()), true});
  return specs;
}

json recorded_inputs(const LayerSpec& spec, const std::string& parent_digest)
{
  json recorded = spec.inputs;
  recorded["parent"] = parent_digest;
  recorded["layer_version"] = kLayerVersion;
  return recorded;
}

std::string layer_key(const LayerSpec& spec, const std::string& parent_digest)
{
  // nlohmann's json keeps object keys sorted, so dump() is a canonical serialisation.
  return util::sha256_hex("kiln-layer " + std::to_string(kCacheFormat) + "\n" +
                          recorded_inputs(spec, parent_digest).dump());
}

std::string explain_miss(const LayerSpec& spec, const std::string& parent_digest,
                         const std::optional<LayerMeta>& previous)
{
  if (!previous)
    return "not built before";
  json now = recorded_inputs(spec, parent_digest);
  std::vector<std::string> changes;
  for (const auto& [field, value] : now.items()) {
    if (!previous->inputs.contains(field) || previous->inputs[field] != value)
      changes.push_back(describe_change(field, now));
  }
  for (const auto& [field, value] : previous->inputs.items()) {
    if (!now.contains(field))
      changes.push_back(field + " removed");
  }
  if (changes.empty())
    return "no longer in the cache";
  std::string text;
  for (const auto& change : changes)
    text += (text.empty() ? "" : "; ") + change;
  return text;
}

std::string export_key(const std::string& top_digest, int64_t source_date_epoch,
                       const std::vector<std::string>& outputs)
{
  std::string text = "kiln-export " + std::to_string(kExportVersion) + "\n" + top_digest + "\n" +
                     std::to_string(source_date_epoch);
  for (const auto& output : outputs)
    text += "\n" + output;
  return util::sha256_hex(text);
}

} // namespace kiln::bake
