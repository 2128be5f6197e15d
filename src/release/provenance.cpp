#include "release/provenance.hpp"

#include "release/manifest_fields.hpp"
#include "util/signing.hpp"
#include "util/strings.hpp"

#include <set>

namespace kiln::release {

using nlohmann::json;

namespace {

// The names of the base's entry in resolvedDependencies, written and read back here.
const char* const kParentImage = "parent image";
const char* const kBaseBootstrap = "base bootstrap";

json subjects(const Version& version)
{
  json out = json::array();
  for (const auto& file : version.files)
    out.push_back({{"name", file.path}, {"digest", {{"sha256", file.stored.sha256}}}});
  return out;
}

// The base: a parent image by its manifest's digest, or the bootstrap it was made from.
json base_dependency(const json& manifest)
{
  const json& base = field(manifest, "base");
  if (const json& parent = field(base, "image"); parent.is_object()) {
    return {{"name", kParentImage},
            {"uri", "kiln:" + text(parent, "name") + "@" + text(parent, "version")},
            {"digest", {{"sha256", text(parent, "manifest_sha256")}}},
            {"annotations", {{"rootfs_sha256", text(parent, "rootfs_sha256")}}}};
  }
  if (const json& disk = field(base, "disk"); disk.is_object())
    return {{"name", "base disk"},
            {"digest", {{"sha256", text(disk, "sha256")}}},
            {"annotations", disk}};
  json annotations =
      field(base, "bootstrap").is_object() ? field(base, "bootstrap") : json::object();
  if (!text(base, "catalog").empty())
    annotations["catalog"] = text(base, "catalog");
  return {{"name", kBaseBootstrap}, {"annotations", annotations}};
}

json dependencies(const json& manifest)
{
  json out = json::array();
  out.push_back(base_dependency(manifest));
  if (std::string commit = text(manifest, "git_commit"); !commit.empty())
    out.push_back({{"name", "source"}, {"digest", {{"gitCommit", commit}}}});
  const json& definition = field(manifest, "definition");
  for (const auto& input : field(definition, "inputs"))
    out.push_back({{"name", text(input, "path")}, {"digest", {{"sha256", text(input, "sha256")}}}});
  for (const auto& artifact : field(manifest, "artifacts"))
    out.push_back({{"name", "artifact of step " + text(artifact, "step")},
                   {"uri", text(artifact, "url")},
                   {"digest", {{"sha256", text(artifact, "sha256")}}}});
  for (const auto& package : field(manifest, "packages")) {
    std::string name = text(package, "name"), version = text(package, "version");
    json entry = {{"uri", "pkg:deb/debian/" + name + "@" + version +
                              "?arch=" + text(package, "architecture")}};
    if (std::string sha256 = text(package, "sha256"); !sha256.empty())
      entry["digest"] = {{"sha256", sha256}};
    out.push_back(entry);
  }
  return out;
}

} // namespace

json provenance_statement(const json& manifest, const Version& version)
{
  const json& definition = field(manifest, "definition");
  json external = {
      {"image", version.name},
      {"version", version.version},
      {"definition",
       {{"path", text(definition, "file")}, {"digest", {{"sha256", text(definition, "sha256")}}}}}};
  json internal = {{"source_date_epoch", field(manifest, "source_date_epoch")}};
  if (std::string ansible = text(manifest, "ansible_version"); !ansible.empty())
    internal["ansible_version"] = ansible;
  json predicate = {
      {"buildDefinition",
       {{"buildType", "urn:kiln:bake:v1"},
        {"externalParameters", external},
        {"internalParameters", internal},
        {"resolvedDependencies", dependencies(manifest)}}},
      {"runDetails",
       {{"builder",
         {{"id", "urn:kiln:builder"}, {"version", {{"kiln", text(manifest, "kiln_version")}}}}},
        {"metadata",
         {{"finishedOn", util::format_utc(version.published, "%Y-%m-%dT%H:%M:%SZ")}}}}}};
  return {{"_type", "https://in-toto.io/Statement/v1"},
          {"subject", subjects(version)},
          {"predicateType", "https://slsa.dev/provenance/v1"},
          {"predicate", predicate}};
}

std::string dsse_pae(const std::string& type, const std::string& payload)
{
  return "DSSEv1 " + std::to_string(type.size()) + " " + type + " " +
         std::to_string(payload.size()) + " " + payload;
}

Expected<json> dsse_envelope(const json& statement, const std::filesystem::path& key)
{
  std::string payload = statement.dump();
  json signatures = json::array();
  if (!key.empty()) {
    auto sig = util::sign(dsse_pae(kInTotoPayloadType, payload), key);
    if (!sig)
      return std::move(sig).error();
    auto keyid = util::key_fingerprint(key);
    if (!keyid)
      return std::move(keyid).error();
    signatures.push_back({{"keyid", *keyid}, {"sig", *sig}});
  }
  return json{{"payloadType", kInTotoPayloadType},
              {"payload", util::base64_encode(payload)},
              {"signatures", signatures}};
}

Expected<json> open_envelope(const json& envelope, const std::filesystem::path& public_key)
{
  try {
    if (envelope.at("payloadType") != kInTotoPayloadType)
      return make_error(ExitCode::input, "the provenance envelope holds an unknown payload type");
    auto payload = util::base64_decode(envelope.at("payload").get<std::string>());
    if (!payload)
      return make_error(ExitCode::input, "the provenance envelope's payload is not base64");
    if (!public_key.empty()) {
      bool valid = false;
      for (const auto& s : envelope.at("signatures")) {
        auto ok = util::verify_signature(dsse_pae(kInTotoPayloadType, *payload),
                                         s.at("sig").get<std::string>(), public_key);
        if (!ok)
          return std::move(ok).error();
        valid = valid || *ok;
      }
      if (!valid)
        return make_error(ExitCode::input,
                          "the provenance has no valid signature by " + public_key.string());
    }
    return json::parse(*payload);
  } catch (const json::exception& e) {
    return make_error(ExitCode::input, std::string("the provenance is damaged: ") + e.what());
  }
}

Status check_provenance(const VersionDocument& d, const std::filesystem::path& public_key)
{
  std::string ref = d.version.name + "@" + d.version.version;
  if (d.provenance.is_null())
    return make_error(ExitCode::input, ref + " carries no provenance");
  auto statement = open_envelope(d.provenance, public_key);
  if (!statement)
    return make_error(ExitCode::input, ref + ": " + statement.error().message);
  std::set<std::pair<std::string, std::string>> subjects, files;
  try {
    for (const auto& s : statement->at("subject"))
      subjects.emplace(s.at("name").get<std::string>(),
                       s.at("digest").at("sha256").get<std::string>());
  } catch (const json::exception& e) {
    return make_error(ExitCode::input,
                      ref + ": the provenance's subjects are damaged: " + e.what());
  }
  for (const auto& f : d.version.files)
    files.insert({f.path, f.stored.sha256});
  if (subjects != files)
    return make_error(ExitCode::input,
                      ref + ": the provenance's subjects are not the version's files");
  return ok_status();
}

Expected<BuiltFrom> built_from(const VersionDocument& d, const std::filesystem::path& public_key)
{
  std::string ref = d.version.name + "@" + d.version.version;
  if (d.provenance.is_null())
    return make_error(ExitCode::input, ref + " has no provenance");
  auto statement = open_envelope(d.provenance, public_key);
  if (!statement)
    return make_error(ExitCode::input, ref + ": " + statement.error().message);
  const json& build = field(field(*statement, "predicate"), "buildDefinition");
  BuiltFrom out;
  out.definition_sha256 =
      text(field(field(field(build, "externalParameters"), "definition"), "digest"), "sha256");
  const std::string deb = "pkg:deb/debian/";
  for (const auto& dependency : field(build, "resolvedDependencies")) {
    std::string name = text(dependency, "name"), uri = text(dependency, "uri");
    std::string sha256 = text(field(dependency, "digest"), "sha256");
    if (name == kParentImage && uri.rfind("kiln:", 0) == 0) {
      out.parent = uri.substr(5);
    } else if (name == kBaseBootstrap) {
      out.bootstrap = field(dependency, "annotations");
      if (out.bootstrap.is_object())
        out.bootstrap.erase("catalog"); // the entry's name: what it resolves to is compared
    } else if (uri.rfind(deb, 0) == 0) {
      std::string rest = uri.substr(deb.size(), uri.find('?') - deb.size());
      if (size_t at = rest.find('@'); at != std::string::npos)
        out.packages[rest.substr(0, at)] = rest.substr(at + 1);
    } else if (!name.empty() && uri.empty() && !sha256.empty() && name != "base disk") {
      out.inputs[name] = sha256; // a file of the definition (script, copied file, playbook)
    }
  }
  return out;
}

} // namespace kiln::release
