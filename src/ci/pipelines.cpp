#include "ci/pipelines.hpp"

#include <cctype>
#include <map>

namespace kiln::ci {

namespace {

// A word that means itself in YAML (plain scalar), in a shell word and in a URL path.
bool plain_word(const std::string& text)
{
  if (text.empty() || text.size() > 100 || !std::isalnum(static_cast<unsigned char>(text[0])))
    return false;
  for (char c : text)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
      return false;
  return true;
}

Status check_word(const std::string& what, const std::string& value)
{
  if (plain_word(value))
    return Unit{};
  return make_error(ExitCode::usage,
                    what + " '" + value + "' cannot be written into a pipeline as it is",
                    "use letters, digits, '.', '_' and '-', starting with a letter or digit");
}

std::string joined(const std::vector<std::string>& words, const std::string& separator,
                   const std::string& prefix = "")
{
  std::string text;
  for (const auto& word : words)
    text += (text.empty() ? "" : separator) + prefix + word;
  return text;
}

// "kiln-staging and kiln-prod", "kiln-prod", "kiln-a, kiln-b and kiln-c".
std::string spoken_list(const std::vector<std::string>& words, const std::string& prefix)
{
  if (words.empty())
    return "(none)";
  std::vector<std::string> head(words.begin(), words.end() - 1);
  if (head.empty())
    return prefix + words.back();
  return joined(head, ", ", prefix) + " and " + prefix + words.back();
}

// A value of several lines: each line after the first starts at the column of its token.
std::string indented(const std::string& value, const std::string& text, size_t at)
{
  size_t line = text.rfind('\n', at);
  line = line == std::string::npos ? 0 : line + 1;
  std::string indent(at - line, ' ');
  std::string out;
  for (char c : value)
    out += c == '\n' ? "\n" + indent : std::string(1, c);
  return out;
}

std::string render(std::string text, const std::map<std::string, std::string>& values)
{
  for (const auto& [name, value] : values) {
    std::string token = "@" + name + "@";
    for (size_t at = text.find(token); at != std::string::npos;) {
      std::string filled = indented(value, text, at);
      text.replace(at, token.size(), filled);
      at = text.find(token, at + filled.size());
    }
  }
  return text;
}

} // namespace

Expected<std::vector<PipelineFile>> pipeline_files(Platform platform, const PipelineInputs& inputs)
{
  KILN_TRY(check_word("the kiln version", inputs.kiln_version));
  KILN_TRY(check_word("the agents' name", inputs.agents));
  if (inputs.images.empty())
    return make_error(ExitCode::usage, "the repository has no image to deploy",
                      "add a definition that kiln.yaml's ci.images names (default: "
                      "image.yaml, */image.yaml, images/*/image.yaml), then run kiln pipeline init "
                      "again");
  if (inputs.channels.empty())
    return make_error(ExitCode::usage, "kiln.yaml defines no channel to deploy from",
                      "add channels: (for example dev, staging, prod) to kiln.yaml");
  for (const auto& image : inputs.images)
    KILN_TRY(check_word("the image name", image));
  for (const auto& channel : inputs.channels)
    KILN_TRY(check_word("the channel name", channel));

  // Every channel but the first (where main's builds land) waits for an approval.
  std::vector<std::string> approved(inputs.channels.begin() + 1, inputs.channels.end());
  if (approved.empty())
    approved = inputs.channels;
  std::map<std::string, std::string> values{
      {"KILN_VERSION", inputs.kiln_version},
      {"AGENTS", inputs.agents},
      {"IMAGES", joined(inputs.images, ", ")},
      {"DEFAULT_IMAGE", inputs.images.front()},
      {"CHANNELS", joined(inputs.channels, ", ")},
      {"DEFAULT_CHANNEL", inputs.channels.back()},
      {"ENVIRONMENTS", spoken_list(inputs.channels, "kiln-")},
      {"APPROVED", spoken_list(approved, "kiln-")},
  };
  values["ABOUT_BUILD"] = templates::kAboutBuild;
  values["CHECK_VERSION"] =
      platform == Platform::azure ? templates::kAzureVersionCheck : templates::kGithubVersionCheck;
  if (platform == Platform::azure)
    return std::vector<PipelineFile>{
        {"azure-pipelines/build-images.yml", render(templates::kAzureBuild, values)},
        {"azure-pipelines/deploy-images.yml", render(templates::kAzureDeploy, values)}};
  return std::vector<PipelineFile>{
      {".github/workflows/build-images.yml", render(templates::kGithubBuild, values)},
      {".github/workflows/deploy-images.yml", render(templates::kGithubDeploy, values)}};
}

} // namespace kiln::ci
