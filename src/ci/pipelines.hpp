// `kiln pipeline init`: the build and deploy pipelines of an images repository, for Azure
// Pipelines (azure-pipelines/build-images.yml, deploy-images.yml) or GitHub Actions
// (.github/workflows/build-images.yml, deploy-images.yml). The files are templates
// (ci/pipeline_templates.cpp) filled with what the repository holds: its images and channels,
// the agents that run kiln, and the kiln version the pipelines insist on.
#pragma once

#include "util/error.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace kiln::ci {

enum class Platform { azure, github };

struct PipelineInputs {
  std::string kiln_version;
  std::string agents;                // the Azure agent pool, the GitHub runners' label
  std::vector<std::string> images;   // image names: the deploy pipeline's choice, first default
  std::vector<std::string> channels; // in promotion order; the last is the deploy default
};

struct PipelineFile {
  std::filesystem::path path; // relative to the repository's root
  std::string text;
};

// The two files of `platform`. Every value must be a plain word ([A-Za-z0-9._-], starting with
// a letter or digit), so that it lands in YAML and shell as itself; else a usage error naming it.
Expected<std::vector<PipelineFile>> pipeline_files(Platform platform, const PipelineInputs& inputs);

namespace templates {
extern const char* const kAboutBuild;
extern const char* const kAzureVersionCheck;
extern const char* const kGithubVersionCheck;
extern const char* const kAzureBuild;
extern const char* const kAzureDeploy;
extern const char* const kGithubBuild;
extern const char* const kGithubDeploy;
} // namespace templates

} // namespace kiln::ci
