#include "ci/pipelines.hpp"
#include "ci/plan.hpp"
#include "cli/commands.hpp"
#include "cli/release_options.hpp"
#include "util/fs.hpp"
#include "util/version.hpp"

#include <cstdio>
#include <unistd.h>

namespace kiln::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct PipelineOptions {
  bool azure = false, github = false, force = false, json = false;
  std::string dir = ".", agents = "kiln";
};

// The names of the images kiln ci builds here, in the policy's order.
Expected<std::vector<std::string>> image_names(const config::Settings& settings)
{
  auto definitions = ci::find_images(settings.policy, fs::current_path());
  if (!definitions)
    return std::move(definitions).error();
  std::vector<std::string> names;
  for (const auto& relative : *definitions) {
    auto loaded = spec::load_definition(relative, {settings.catalog});
    if (!loaded.definition) {
      report(loaded.diagnostics);
      return make_error(ExitCode::invalid_definition,
                        relative.string() + " does not validate: its name is not known",
                        "kiln validate " + relative.string());
    }
    names.push_back(loaded.definition->name);
  }
  return names;
}

Expected<ci::PipelineInputs> pipeline_inputs(const PipelineOptions& options)
{
  if (!fs::is_regular_file("kiln.yaml"))
    return make_error(ExitCode::usage, "no kiln.yaml in " + fs::current_path().string(),
                      "run kiln pipeline init at the root of an images repository (--dir), "
                      "next to the kiln.yaml that names its store and channels");
  auto settings = config::load({});
  if (!settings)
    return std::move(settings).error();
  ci::PipelineInputs inputs{kVersion, options.agents, {}, {}};
  auto names = image_names(*settings);
  if (!names)
    return std::move(names).error();
  inputs.images = std::move(*names);
  for (const auto& channel : settings->release.channels)
    inputs.channels.push_back(channel.name);
  return inputs;
}

int run_pipeline_init(const PipelineOptions& options)
{
  if (!options.azure && !options.github)
    return report(make_error(ExitCode::usage, "say which pipelines to write",
                             "kiln pipeline init --azure, or --github, or both"));
  if (::chdir(options.dir.c_str()) != 0)
    return report(errno_error("cannot enter", options.dir, errno, ExitCode::usage));
  auto inputs = pipeline_inputs(options);
  if (!inputs)
    return report(inputs.error());
  std::vector<ci::PipelineFile> files;
  for (auto [chosen, platform] : {std::pair{options.azure, ci::Platform::azure},
                                  std::pair{options.github, ci::Platform::github}}) {
    if (!chosen)
      continue;
    auto written = ci::pipeline_files(platform, *inputs);
    if (!written)
      return report(written.error());
    files.insert(files.end(), written->begin(), written->end());
  }
  // Nothing is written unless every file can be: an existing one is kept without --force.
  for (const auto& file : files)
    if (!options.force && fs::exists(file.path))
      return report(make_error(ExitCode::usage, file.path.string() + " exists",
                               "kiln pipeline init --force writes it again (your edits are lost)"));
  json result = {{"kiln_version", inputs->kiln_version},
                 {"agents", inputs->agents},
                 {"images", inputs->images},
                 {"channels", inputs->channels},
                 {"files", json::array()}};
  for (const auto& file : files) {
    std::error_code ec;
    fs::create_directories(file.path.parent_path(), ec);
    if (Status status = util::write_file_atomic(file.path, file.text); !status)
      return report(status.error());
    result["files"].push_back(file.path.string());
  }
  if (options.json) {
    print_json(result);
    return 0;
  }
  for (const auto& file : files)
    std::printf("wrote %s\n", file.path.c_str());
  std::printf("for kiln %s; images %s; channels %s. Each file's first lines say what to set up "
              "(agents, credentials, environments); then commit them.\n",
              inputs->kiln_version.c_str(), json(inputs->images).dump().c_str(),
              json(inputs->channels).dump().c_str());
  return 0;
}

} // namespace

Command add_pipeline(CLI::App& app)
{
  auto options = std::make_shared<PipelineOptions>();
  auto* pipeline = app.add_subcommand("pipeline", "Write CI pipelines for an images repository");
  pipeline->require_subcommand(1);
  auto* init = pipeline->add_subcommand(
      "init", "Write the build and deploy pipelines (Azure Pipelines, GitHub Actions)");
  init->add_flag("--azure", options->azure,
                 "azure-pipelines/build-images.yml and azure-pipelines/deploy-images.yml");
  init->add_flag("--github", options->github,
                 ".github/workflows/build-images.yml and .github/workflows/deploy-images.yml");
  init->add_option("--dir", options->dir,
                   "The repository's root, where kiln.yaml is (default: the current folder)");
  init->add_option("--agents", options->agents,
                   "The Azure agent pool, or the GitHub runners' label, of the machines that "
                   "run kiln (default: kiln)");
  init->add_flag("--force", options->force, "Write over files that exist");
  init->add_flag("--json", options->json, "Print what was written as JSON");
  pipeline->footer(
      R"(The build pipeline runs on every push and pull request: it checks out the whole
history and runs `kiln ci`, which builds, tests, publishes and moves channels as kiln.yaml's
branch policy says (kiln ci --show-policy); it publishes the image tests (junit.xml), the
reports and the SBOMs. The deploy pipeline runs by hand or weekly with two parameters, image
and channel, through one environment per channel (kiln-CHANNEL): give the channels after the
first approvals (Azure) or required reviewers (GitHub). kiln has no `kiln deploy` yet: the
deploy pipeline verifies and fetches the channel's version, and says that it did not roll it out.

Both are pinned to this kiln's version (their first step fails on another), take the store's
credentials from a variable group (Azure) or OIDC (GitHub) and the signing key from a secure
file or a secret, never from the file itself. Existing files are kept unless --force.

Examples:
  kiln pipeline init --azure
  kiln pipeline init --github --agents image-builders
  kiln pipeline init --azure --github --dir ~/src/agent-images --json)");
  return {pipeline, [options] { return run_pipeline_init(*options); }};
}

} // namespace kiln::cli
