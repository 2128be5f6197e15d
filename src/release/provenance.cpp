#include "release/provenance.hpp"

#include "util/signing.hpp"
#include "util/strings.hpp"

namespace kiln::release {

using nlohmann::json;

namespace {

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
  const json& base = manifest.value("base", json::object());
  if (base.contains("image")) {
    const json& parent = base["image"];
    return {{"name", "parent image"},
            {"uri", "kiln:" + parent.value("name", "") + "@" + parent.value("version", "")},
            {"digest", {{"sha256", parent.value("manifest_sha256", "")}}},
            {"annotations", {{"rootfs_sha256", parent.value("rootfs_sha256", "")}}}};
  }
  json annotations = base.value("bootstrap", json::object());
  if (base.contains("catalog"))
    annotations["catalog"] = base["catalog"];
  return {{"name", "base bootstrap"}, {"annotations", annotations}};
}

json dependencies(const json& manifest)
{
  json out = json::array();
  out.push_back(base_dependency(manifest));
  if (manifest.contains("git_commit") && manifest["git_commit"].is_string())
    out.push_back({{"name", "source"}, {"digest", {{"gitCommit", manifest["git_commit"]}}}});
  const json& definition = manifest.value("definition", json::object());
  for (const auto& input : definition.value("inputs", json::array()))
    out.push_back(
        {{"name", input.value("path", "")}, {"digest", {{"sha256", input.value("sha256", "")}}}});
  for (const auto& artifact : manifest.value("artifacts", json::array()))
    out.push_back({{"name", "artifact of step " + artifact.value("step", "")},
                   {"uri", artifact.value("url", "")},
                   {"digest", {{"sha256", artifact.value("sha256", "")}}}});
  for (const auto& package : manifest.value("packages", json::array())) {
    std::string name = package.value("name", ""), version = package.value("version", "");
    json entry = {{"uri", "pkg:deb/debian/" + name + "@" + version +
                              "?arch=" + package.value("architecture", "")}};
    if (package.contains("sha256"))
      entry["digest"] = {{"sha256", package["sha256"]}};
    out.push_back(entry);
  }
  return out;
}

} // namespace

json provenance_statement(const json& manifest, const Version& version)
{
  const json& definition = manifest.value("definition", json::object());
  json external = {{"image", version.name},
                   {"version", version.version},
                   {"definition",
                    {{"path", definition.value("file", "")},
                     {"digest", {{"sha256", definition.value("sha256", "")}}}}}};
  json internal = {{"source_date_epoch", manifest.value("source_date_epoch", json())}};
  if (manifest.contains("ansible_version"))
    internal["ansible_version"] = manifest["ansible_version"];
  json predicate = {
      {"buildDefinition",
       {{"buildType", "urn:kiln:bake:v1"},
        {"externalParameters", external},
        {"internalParameters", internal},
        {"resolvedDependencies", dependencies(manifest)}}},
      {"runDetails",
       {{"builder",
         {{"id", "urn:kiln:builder"}, {"version", {{"kiln", manifest.value("kiln_version", "")}}}}},
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

} // namespace kiln::release
