// The output folder of a bake (OUT): the one place that names its files, reads a finished one
// back and clears one for the next bake.
//
//   OUT/manifest.json         written last: a folder with a manifest is a finished image
//   OUT/rootfs.tar.zst        the tar output (and each other output's file, see the manifest)
//   OUT/sbom.cdx.json, software-report.{json,md}, files.json, security-audit.{json,md}
//   OUT/tests/{tests,results}.json, junit.xml    the image tests, when the image has some
//   OUT/logs/, timings.json, report.html          records of the run, not of the image
#pragma once

#include "util/digest_memo.hpp"
#include "util/error.hpp"

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::image::out {

inline constexpr std::string_view kManifest = "manifest.json";
inline constexpr std::string_view kRootfsTar = "rootfs.tar.zst";
inline constexpr std::string_view kSbom = "sbom.cdx.json";
inline constexpr std::string_view kSoftwareReport = "software-report.json";
inline constexpr std::string_view kSoftwareReportMarkdown = "software-report.md";
inline constexpr std::string_view kFiles = "files.json";
inline constexpr std::string_view kSecurityAudit = "security-audit.json";
inline constexpr std::string_view kSecurityAuditMarkdown = "security-audit.md";
inline constexpr std::string_view kTimings = "timings.json";
inline constexpr std::string_view kReport = "report.html";
inline constexpr std::string_view kLogs = "logs";
inline constexpr std::string_view kTests = "tests"; // a folder: the three names below
inline constexpr std::string_view kTestPlan = "tests.json";
inline constexpr std::string_view kTestResults = "results.json";
inline constexpr std::string_view kJunit = "junit.xml";
inline constexpr std::string_view kLock = ".kiln.lock";

// OUT/NAME, for a name above.
inline std::filesystem::path at(const std::filesystem::path& dir, std::string_view name)
{
  return dir / std::string(name);
}

// OUT/tests/NAME, for kTestPlan, kTestResults and kJunit.
inline std::filesystem::path tests_at(const std::filesystem::path& dir, std::string_view name)
{
  return at(at(dir, kTests), name);
}

// Files of OUT that record how an image was built rather than what it is: logs, step timings,
// test results with their durations and the HTML report that shows them. Two bakes of the same
// image differ in them, so a version keeps them but they are no part of its identity. `path` is
// relative to OUT.
bool records_the_run(const std::string& path);

// A finished output folder's manifest, read and checked for the fields every reader needs.
struct Finished {
  std::filesystem::path dir;
  nlohmann::json manifest;
  std::string manifest_sha256;
  std::string name;
  std::string version;
  std::map<std::string, std::string> outputs; // file, relative to OUT -> sha256

  std::string sha256_of(std::string_view file) const
  {
    auto it = outputs.find(std::string(file));
    return it == outputs.end() ? "" : it->second;
  }
};

// Errors are input errors that name the folder: no manifest ("holds no finished image") or a
// damaged one.
Expected<Finished> read_finished(const std::filesystem::path& dir);

// A finished folder whose rootfs.tar.zst is checked against its manifest, so that nothing is
// built on, or tested, that is not what its manifest says. `what` names the image in a mismatch
// ("the parent image"). With `memo`, an unchanged tar is not hashed again.
Expected<Finished> read_verified(const std::filesystem::path& dir, const std::string& what,
                                 util::DigestMemo* memo = nullptr);

// Removes what a bake writes (the manifest first, so that nothing left over looks finished) and
// makes an empty OUT/logs. Anything else in OUT is left alone.
Status clear(const std::filesystem::path& dir, const std::vector<std::string>& output_files);

} // namespace kiln::image::out
