#include "image/manifest.hpp"

#include "util/fs.hpp"
#include "util/hash.hpp"

namespace kiln::image {

using nlohmann::json;

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
  for (const auto& output : m.outputs) {
    outputs.push_back({{"name", output.name},
                       {"file", output.file},
                       {"sha256", output.sha256},
                       {"size", output.size}});
  }
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

Expected<BuiltImage> read_built_image(const std::filesystem::path& dir, const std::string& what,
                                      util::DigestMemo* memo)
{
  auto text = util::read_file(dir / "manifest.json");
  if (!text) {
    return make_error(ExitCode::input, dir.string() + " holds no finished image (no manifest.json)",
                      "give the output folder of a successful kiln build");
  }
  BuiltImage image;
  image.dir = dir;
  image.manifest_sha256 = util::sha256_hex(*text);
  try {
    auto manifest = json::parse(*text);
    image.name = manifest.at("name");
    image.version = manifest.at("version");
    for (const auto& output : manifest.at("outputs")) {
      if (output.at("name") == "rootfs")
        image.rootfs_sha256 = output.at("sha256");
    }
  } catch (const json::exception& e) {
    return make_error(ExitCode::input, "the manifest " + (dir / "manifest.json").string() +
                                           " is damaged: " + e.what());
  }
  auto actual =
      memo ? memo->sha256_file(dir / "rootfs.tar.zst") : util::sha256_file(dir / "rootfs.tar.zst");
  if (!actual)
    return std::move(actual).error();
  if (*actual != image.rootfs_sha256) {
    return make_error(ExitCode::input,
                      what + " in " + dir.string() +
                          " does not match its manifest: rootfs.tar.zst has sha256 " + *actual +
                          ", the manifest says " + image.rootfs_sha256,
                      "build it again; never edit a built image in place");
  }
  return image;
}

} // namespace kiln::image
