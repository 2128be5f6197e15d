#include "cli/commands.hpp"
#include "spec/loader.hpp"
#include "spec/schema.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace kiln::cli {

namespace {

struct ValidateOptions {
  std::string file;
  bool json = false;
};

nlohmann::json to_json(const std::string& file, const spec::LoadResult& result)
{
  nlohmann::json errors = nlohmann::json::array();
  for (const auto& d : result.diagnostics) {
    errors.push_back({{"file", d.file},
                      {"line", d.position.line},
                      {"column", d.position.column},
                      {"message", d.message},
                      {"hint", d.hint}});
  }
  nlohmann::json out = {
      {"file", file}, {"valid", result.definition.has_value()}, {"errors", errors}};
  if (result.definition) {
    out["name"] = result.definition->name;
    out["version"] = result.definition->version;
    out["steps"] = result.definition->steps.size();
  }
  return out;
}

int run_validate(const ValidateOptions& options)
{
  auto settings = load_settings();
  if (!settings)
    return report(settings.error());
  auto result = spec::load_definition(options.file, {settings->catalog});
  if (options.json) {
    std::printf("%s\n", to_json(options.file, result).dump(2).c_str());
  } else if (result.definition) {
    std::printf("%s: ok (%s %s, %zu steps)\n", options.file.c_str(),
                result.definition->name.c_str(), result.definition->version.c_str(),
                result.definition->steps.size());
  } else {
    report(result.diagnostics);
    std::fprintf(stderr, "%zu error%s in %s\n", result.diagnostics.size(),
                 result.diagnostics.size() == 1 ? "" : "s", options.file.c_str());
  }
  return result.exit_code();
}

} // namespace

Command add_validate(CLI::App& app)
{
  auto options = std::make_shared<ValidateOptions>();
  auto* sub = app.add_subcommand("validate", "Check an image definition; print every error");
  sub->add_option("file", options->file, "The image definition (YAML)")->required();
  sub->add_flag("--json", options->json, "Print the result as JSON on stdout");
  sub->footer(R"(Each error is printed as FILE:LINE:COL: error: WHAT, with a hint on how to fix it.
Exit code 0 when valid, 3 when not, 4 when the file cannot be read.

Examples:
  kiln validate examples/linux-agent/image.yaml
  kiln validate image.yaml --json | jq '.errors[].message')");
  return {sub, [options] { return run_validate(*options); }};
}

Command add_schema(CLI::App& app)
{
  auto* sub = app.add_subcommand("schema", "Print the JSON Schema of the definition format");
  sub->footer(R"(Point your editor's YAML language server at it for completion and checks.

Example:
  kiln schema > kiln-image.schema.json
  # then in image.yaml: # yaml-language-server: $schema=kiln-image.schema.json)");
  return {sub, [] {
            std::printf("%s\n", spec::json_schema().dump(2).c_str());
            return 0;
          }};
}

} // namespace kiln::cli
