// The software report, as runner-images publishes one per image: the image and its OS, then the
// tools the definition's report: lists and the packages it asked for, grouped by category with
// their versions. JSON for machines, Markdown for release notes; both made from the manifest.
#pragma once

#include "image/manifest.hpp"

#include <nlohmann/json.hpp>
#include <string>

namespace kiln::report {

nlohmann::json software_report(const image::Manifest& manifest);
std::string software_report_markdown(const image::Manifest& manifest);

// The report's category for a Debian section: "vcs" -> "Version control".
std::string category_of_section(const std::string& section);

} // namespace kiln::report
