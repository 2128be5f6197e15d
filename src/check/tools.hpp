// The software report's tool versions: each `report:` command runs in the finished tree (read-only,
// like a test) and the first version-like word of what it prints is the tool's version.
#pragma once

#include "image/manifest.hpp"
#include "sandbox/sandbox.hpp"
#include "spec/definition.hpp"
#include "util/error.hpp"
#include "util/process.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace kiln::check {

// A command that fails gives a tool without a version (its output says why); only a sandbox
// failure is an error.
Expected<std::vector<image::Tool>> tool_versions(const std::vector<spec::ReportCommand>& report,
                                                 const sandbox::RunOptions& tree,
                                                 const std::filesystem::path& scratch,
                                                 util::ProcessObserver& log);

// "git version 2.39.5" -> "2.39.5"; "" when there is none.
std::string version_in(const std::string& output);

} // namespace kiln::check
