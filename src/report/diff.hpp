// `kiln diff A B`: what changed between two built images, from their manifests, files.json and
// test results: packages added, removed and changed, tool versions, users, files no package owns,
// test results. As text, JSON, or Markdown for release notes.
#pragma once

#include "util/error.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace kiln::report {

// What diff reads of one output folder.
struct ImageFacts {
  nlohmann::json manifest;
  nlohmann::json files;   // path -> digest; null when the folder has no files.json
  nlohmann::json results; // tests/results.json, or null
};

Expected<ImageFacts> read_image_facts(const std::filesystem::path& out_dir);

nlohmann::json diff_images(const ImageFacts& a, const ImageFacts& b);

// The sections of a diff, in the order reports show them: key in the diff, title.
const std::vector<std::pair<std::string, std::string>>& diff_sections();
std::string diff_text(const nlohmann::json& diff);
std::string diff_markdown(const nlohmann::json& diff);

} // namespace kiln::report
