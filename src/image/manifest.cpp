#include "image/manifest.hpp"

#include "util/fs.hpp"
#include "util/hash.hpp"

namespace kiln::image {

using nlohmann::json;

json to_json(const OutputFile& output)
{
  json j = {{"name", output.name},
            {"file", output.file},
            {"sha256", output.sha256},
            {"size", output.size}};
  if (!output.format.empty()) {
    j["format"] = output.format;
    j["virtual_size"] = output.virtual_size;
  }
  return j;
}

OutputFile output_from_json(const json& j)
{
  return {j.at("name"), j.at("file"),          j.at("sha256"),
          j.at("size"), j.value("format", ""), j.value("virtual_size", uint64_t{0})};
}

json to_json(const Manifest& m)
{
  json inputs = json::array();
  for (const auto& input : m.inputs)
    inputs.push_back({{"path", input.path}, {"sha256", input.sha256}});
  json artifacts = json::array();
  for (const auto& artifact : m.artifacts)
    artifacts.push_back(
        {{"step", artifact.step}, {"url", artifact.url}, {"sha256", artifact.sha256}});
  json packages = json::array();
  for (const auto& package : m.packages)
    packages.push_back(to_json(package));
  json tools = json::array();
  for (const auto& tool : m.tools) {
    tools.push_back({{"name", tool.name},
                     {"category", tool.category},
                     {"version", tool.version},
                     {"output", tool.output}});
  }
  json users = json::array();
  for (const auto& user : m.users)
    users.push_back(to_json(user));
  json outputs = json::array();
  for (const auto& output : m.outputs)
    outputs.push_back(to_json(output));
  return json{
      {"manifest_format", kManifestFormat},
      {"name", m.name},
      {"version", m.version},
      {"definition",
       {{"file", m.definition_file}, {"sha256", m.definition_sha256}, {"inputs", inputs}}},
      {"artifacts", artifacts},
      {"base", m.base},
      {"os", to_json(m.os)},
      {"requested_packages", m.requested},
      {"tools", tools},
      {"users", users},
      {"packages", packages},
      {"outputs", outputs},
      {"kiln_version", m.kiln_version},
      {"ansible_version", m.ansible_version.empty() ? json(nullptr) : json(m.ansible_version)},
      {"git_commit", m.git_commit ? json(*m.git_commit) : json(nullptr)},
      {"source_date_epoch", m.source_date_epoch},
      {"security_audit", m.security},
      {"storage", m.storage},
      {"tests", m.tests},
  };
}

} // namespace kiln::image
