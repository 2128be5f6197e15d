#include "image/out_dir.hpp"

#include "util/fs.hpp"
#include "util/hash.hpp"

namespace kiln::image::out {

namespace fs = std::filesystem;
using nlohmann::json;

bool records_the_run(const std::string& path)
{
  return path.rfind(std::string(kLogs) + "/", 0) == 0 || path == kTimings || path == kReport ||
         path == std::string(kTests) + "/" + std::string(kTestResults) ||
         path == std::string(kTests) + "/" + std::string(kJunit);
}

Expected<Finished> read_finished(const fs::path& dir)
{
  fs::path file = at(dir, kManifest);
  auto text = util::read_file(file);
  if (!text)
    return make_error(ExitCode::input,
                      dir.string() + " holds no finished image (no " + std::string(kManifest) + ")",
                      "give the output folder of a successful kiln build");
  Finished finished;
  finished.dir = dir;
  finished.manifest_sha256 = util::sha256_hex(*text);
  try {
    finished.manifest = json::parse(*text);
    finished.name = finished.manifest.at("name");
    finished.version = finished.manifest.at("version");
    for (const auto& output : finished.manifest.at("outputs"))
      finished.outputs[output.at("file")] = output.at("sha256");
  } catch (const json::exception& e) {
    return make_error(ExitCode::input,
                      "the manifest " + file.string() + " is damaged: " + e.what());
  }
  return finished;
}

Expected<Finished> read_verified(const fs::path& dir, const std::string& what,
                                 util::DigestMemo* memo)
{
  auto finished = read_finished(dir);
  if (!finished)
    return finished;
  auto want = finished->outputs.find(std::string(kRootfsTar));
  if (want == finished->outputs.end())
    return make_error(ExitCode::input, "the manifest " + at(dir, kManifest).string() +
                                           " lists no " + std::string(kRootfsTar));
  fs::path tar = at(dir, kRootfsTar);
  auto actual = memo ? memo->sha256_file(tar) : util::sha256_file(tar);
  if (!actual)
    return std::move(actual).error();
  if (*actual != want->second)
    return make_error(ExitCode::input,
                      what + " in " + dir.string() +
                          " does not match its manifest: " + std::string(kRootfsTar) +
                          " has sha256 " + *actual + ", the manifest says " + want->second,
                      "build it again; never edit a built image in place");
  return finished;
}

Status clear(const fs::path& dir, const std::vector<std::string>& output_files)
{
  std::error_code ec;
  fs::remove(at(dir, kManifest), ec); // first: nothing left over may look finished
  std::vector<std::string> names = output_files;
  for (std::string_view name : {kSbom, kSoftwareReport, kSoftwareReportMarkdown, kFiles,
                                kSecurityAudit, kSecurityAuditMarkdown, kTimings, kReport})
    names.emplace_back(name);
  for (const auto& name : names) {
    fs::remove(dir / name, ec);
    fs::remove(dir / ("." + name + ".partial"), ec);
  }
  fs::remove_all(at(dir, kLogs), ec);
  fs::remove_all(at(dir, kTests), ec);
  return util::make_dirs(at(dir, kLogs));
}

} // namespace kiln::image::out
