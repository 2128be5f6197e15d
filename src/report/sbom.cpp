#include "report/sbom.hpp"

#include "util/strings.hpp"

#include <cstdio>
#include <ctime>

namespace kiln::report {

using nlohmann::json;

namespace {

// Percent-encodes what a purl component may not hold as is.
std::string purl_encode(const std::string& text)
{
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '.' || c == '-' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

// A name-based UUID (version 5 layout) from the rootfs digest: the same image, the same serial.
std::string serial_number(const std::string& sha256)
{
  std::string hex = (sha256 + std::string(32, '0')).substr(0, 32);
  hex[12] = '5';
  hex[16] = "89ab"[std::stoi(hex.substr(16, 1), nullptr, 16) % 4];
  return "urn:uuid:" + hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

json licenses(const image::Package& package)
{
  if (!package.license_spdx.empty()) {
    if (package.license_spdx.find(' ') != std::string::npos)
      return json::array({{{"expression", package.license_spdx}}});
    return json::array({{{"license", {{"id", package.license_spdx}}}}});
  }
  if (!package.license.empty())
    return json::array({{{"license", {{"name", package.license}}}}});
  return nullptr;
}

json package_component(const image::Package& package, const image::OsRelease& os)
{
  std::string purl = deb_purl(package, os);
  json component = {{"type", "library"},
                    {"bom-ref", purl},
                    {"name", package.name},
                    {"version", package.version},
                    {"purl", purl}};
  if (!package.summary.empty())
    component["description"] = package.summary;
  if (json found = licenses(package); !found.is_null())
    component["licenses"] = found;
  if (!package.sha256.empty()) // of the .deb the package was installed from
    component["hashes"] = json::array({{{"alg", "SHA-256"}, {"content", package.sha256}}});
  json properties = json::array();
  properties.push_back({{"name", "kiln:architecture"}, {"value", package.architecture}});
  if (!package.section.empty())
    properties.push_back({{"name", "kiln:section"}, {"value", package.section}});
  if (!package.source.empty())
    properties.push_back({{"name", "kiln:source-package"}, {"value", package.source}});
  component["properties"] = properties;
  return component;
}

json artifact_component(const image::ArtifactDigest& artifact)
{
  std::string name = artifact.url.substr(artifact.url.find_last_of('/') + 1);
  if (name.rfind("file:", 0) == 0)
    name = name.substr(5);
  json component = {
      {"type", "file"},
      {"bom-ref", "artifact:" + artifact.step},
      {"name", name.empty() ? artifact.step : name},
      {"hashes", json::array({{{"alg", "SHA-256"}, {"content", artifact.sha256}}})},
      {"properties", json::array({{{"name", "kiln:step"}, {"value", artifact.step}}})}};
  component["externalReferences"] =
      json::array({{{"type", "distribution"}, {"url", artifact.url}}});
  return component;
}

} // namespace

std::string deb_purl(const image::Package& package, const image::OsRelease& os)
{
  std::string vendor = os.id.empty() ? "debian" : os.id;
  std::string purl = "pkg:deb/" + vendor + "/" + purl_encode(package.name) + "@" +
                     purl_encode(package.version) + "?arch=" + purl_encode(package.architecture);
  if (!os.version_id.empty())
    purl += "&distro=" + purl_encode(vendor + "-" + os.version_id);
  return purl;
}

json cyclonedx(const image::Manifest& m)
{
  std::string rootfs_sha256;
  for (const auto& output : m.outputs) {
    if (output.name == "rootfs")
      rootfs_sha256 = output.sha256;
  }
  json image = {
      {"type", "operating-system"}, {"bom-ref", "image"}, {"name", m.name}, {"version", m.version}};
  if (!rootfs_sha256.empty())
    image["hashes"] = json::array({{{"alg", "SHA-256"}, {"content", rootfs_sha256}}});
  // Every output is the image in another form: its digest, and for a disk its format and size.
  json properties = json::array();
  for (const auto& output : m.outputs) {
    std::string prefix = "kiln:output:" + output.file + ":";
    properties.push_back({{"name", prefix + "sha256"}, {"value", output.sha256}});
    if (!output.format.empty()) {
      properties.push_back({{"name", prefix + "format"}, {"value", output.format}});
      properties.push_back(
          {{"name", prefix + "virtual_size"}, {"value", std::to_string(output.virtual_size)}});
    }
  }
  if (!properties.empty())
    image["properties"] = properties;

  json components = json::array();
  json refs = json::array();
  if (!m.os.id.empty()) {
    components.push_back({{"type", "operating-system"},
                          {"bom-ref", "os"},
                          {"name", m.os.id},
                          {"version", m.os.version_id},
                          {"description", m.os.pretty_name}});
    refs.push_back("os");
  }
  for (const auto& package : m.packages) {
    components.push_back(package_component(package, m.os));
    refs.push_back(components.back()["bom-ref"]);
  }
  for (const auto& artifact : m.artifacts) {
    components.push_back(artifact_component(artifact));
    refs.push_back(components.back()["bom-ref"]);
  }
  json tool = {{"type", "application"}, {"name", "kiln"}, {"version", m.kiln_version}};
  return {{"$schema", "http://cyclonedx.org/schema/bom-1.5.schema.json"},
          {"bomFormat", "CycloneDX"},
          {"specVersion", "1.5"},
          {"serialNumber", serial_number(rootfs_sha256)},
          {"version", 1},
          {"metadata",
           {{"timestamp", util::format_utc(m.source_date_epoch, "%Y-%m-%dT%H:%M:%SZ")},
            {"tools", {{"components", json::array({tool})}}},
            {"component", image}}},
          {"components", components},
          {"dependencies", json::array({{{"ref", "image"}, {"dependsOn", refs}}})}};
}

} // namespace kiln::report
