// The image's software bill of materials in CycloneDX 1.5 JSON (OUT/sbom.cdx.json): the image
// itself (by its rootfs digest), the distribution, every installed Debian package (version,
// architecture, purl, license where its copyright file names one) and every fetched artifact by
// sha256. Made from the manifest alone, so it is as reproducible as the manifest.
#pragma once

#include "image/manifest.hpp"

#include <nlohmann/json.hpp>
#include <string>

namespace kiln::report {

nlohmann::json cyclonedx(const image::Manifest& manifest);

// pkg:deb/debian/git@1%3A2.39.5-0%2Bdeb12u2?arch=amd64&distro=debian-12
std::string deb_purl(const image::Package& package, const image::OsRelease& os);

} // namespace kiln::report
