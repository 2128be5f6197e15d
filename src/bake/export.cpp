#include "bake/export.hpp"

#include "bake/bootstrap.hpp"
#include "image/generalize.hpp"
#include "image/tar_export.hpp"
#include "security/baseline.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"

#include <cstdio>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln::bake {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json to_json(const ExportResult& r)
{
  json packages = json::array();
  for (const auto& p : r.packages)
    packages.push_back(image::to_json(p));
  json users = json::array();
  for (const auto& u : r.users)
    users.push_back(image::to_json(u));
  return {{"sha256", r.sha256},   {"size", r.size},         {"entries", r.entries},
          {"packages", packages}, {"security", r.security}, {"os", image::to_json(r.os)},
          {"users", users},       {"unowned", r.unowned}};
}

Expected<ExportResult> read_result(const fs::path& file)
{
  auto text = util::read_file(file);
  if (!text)
    return std::move(text).error();
  try {
    json j = json::parse(*text);
    ExportResult r;
    r.sha256 = j.at("sha256");
    r.size = j.at("size");
    r.entries = j.at("entries");
    r.security = j.value("security", json());
    r.os = image::os_release_from_json(j.at("os"));
    for (const auto& p : j.at("packages"))
      r.packages.push_back(image::package_from_json(p));
    for (const auto& u : j.at("users"))
      r.users.push_back(image::user_from_json(u));
    r.unowned = j.at("unowned").get<std::map<std::string, std::string>>();
    return r;
  } catch (const json::exception& e) {
    return make_error(ExitCode::build_failed, "damaged " + file.string() + ": " + e.what());
  }
}

Status check_child(const Expected<util::ProcessResult>& result, const std::string& what)
{
  if (!result)
    return result.error();
  if (result->interrupted_by != 0)
    return make_error(ExitCode::interrupted, what + " interrupted");
  if (!result->success())
    return make_error(ExitCode::build_failed, what + " ended with " + result->describe());
  return ok_status();
}

// Runs in the child: the tree is mounted at `tree`.
int generalize_in_child(const fs::path& tree)
{
  auto report = image::generalize(tree);
  if (!report) {
    std::printf("kiln: error: %s\n", report.error().message.c_str());
    return 1;
  }
  for (const auto& path : report->removed)
    std::printf("removed /%s\n", path.c_str());
  for (const auto& path : report->truncated)
    std::printf("emptied /%s\n", path.c_str());
  fs::path policy = tree / "usr/sbin/policy-rc.d";
  auto content = util::read_file(policy);
  if (content && *content == kPolicyRcD) {
    fs::remove(policy);
    std::printf("removed /usr/sbin/policy-rc.d (kiln's own)\n");
  }
  return 0;
}

// Audits the finished tree and writes security-audit.json and .md beside the tar.
Expected<json> write_audit(const fs::path& tree, const fs::path& dir,
                           const spec::Security& security)
{
  auto findings = security::audit(tree, security.waive);
  if (!findings)
    return std::move(findings).error();
  json report = security::report_json(*findings);
  KILN_TRY(util::write_file_atomic(dir / "security-audit.json", report.dump(2) + "\n"));
  KILN_TRY(
      util::write_file_atomic(dir / "security-audit.md", security::report_markdown(*findings)));
  for (const auto& f : *findings) {
    if (f.status == "fail")
      std::printf("security audit: %s FAILED: %s\n", f.rule.c_str(), f.detail.c_str());
  }
  return report["summary"];
}

int export_in_child(const fs::path& tree, const fs::path& dir, int64_t epoch,
                    const ExportChecks& checks)
{
  auto packages = image::installed_packages_with_licenses(tree);
  if (!packages) {
    std::printf("kiln: error: %s\n", packages.error().message.c_str());
    return 1;
  }
  auto progress = [](uint64_t entries, uint64_t bytes) {
    std::printf("exported %llu files, %llu MiB\n", static_cast<unsigned long long>(entries),
                static_cast<unsigned long long>(bytes >> 20));
    std::fflush(stdout);
  };
  json audit;
  if (checks.security) {
    auto summary = write_audit(tree, dir, *checks.security);
    if (!summary) {
      std::printf("kiln: error: %s\n", summary.error().message.c_str());
      return 1;
    }
    audit = *summary;
  }
  const util::Redactor* secrets =
      checks.secrets && !checks.secrets->empty() ? checks.secrets : nullptr;
  auto tar = image::write_rootfs_tar(tree, dir / "rootfs.tar.zst", epoch, progress, secrets);
  if (!tar) {
    std::printf("kiln: error: %s\n", tar.error().message.c_str());
    return tar.error().code == ExitCode::environment ? 28 : 1;
  }
  auto unowned = image::unowned_files(tree);
  if (!unowned) {
    std::printf("kiln: error: %s\n", unowned.error().message.c_str());
    return 1;
  }
  ExportResult result;
  result.sha256 = tar->sha256;
  result.size = tar->size;
  result.entries = tar->entries;
  result.packages = std::move(*packages);
  result.security = audit;
  result.os = image::read_os_release(tree);
  result.users = image::read_users(tree);
  result.unowned = std::move(*unowned);
  Status written = util::write_file_atomic(dir / "result.json", to_json(result).dump() + "\n");
  std::printf("rootfs.tar.zst: %llu entries, %llu bytes, sha256 %s\n",
              static_cast<unsigned long long>(tar->entries),
              static_cast<unsigned long long>(tar->size), tar->sha256.c_str());
  return written ? 0 : 1;
}

} // namespace

std::optional<ExportResult> find_export(LayerCache& cache, const std::string& key, StepLog& log)
{
  fs::path dir = cache.exports_dir() / key;
  if (!fs::exists(dir / "result.json"))
    return std::nullopt;
  cache.hold("export-" + key);
  auto result = read_result(dir / "result.json");
  auto actual = util::sha256_file(dir / "rootfs.tar.zst");
  if (result && actual && *actual == result->sha256) {
    log.note("using cached export " + key.substr(0, 12));
    ::utimensat(AT_FDCWD, (dir / "result.json").c_str(), nullptr, 0); // last use: now
    return std::move(*result);
  }
  log.note("cached export " + key.substr(0, 12) + " is damaged; exporting again");
  (void)util::remove_tree(dir);
  return std::nullopt;
}

Status generalize_layers(const sandbox::Overlay& layers, const fs::path& mount_point, StepLog& log)
{
  sandbox::RunOptions options;
  options.root = mount_point;
  options.overlay = layers;
  log.command("generalize " + mount_point.string());
  auto result = sandbox::run_with_tree(
      options, [&] { return generalize_in_child(mount_point); }, &log);
  return check_child(result, "generalize");
}

Expected<ExportResult> export_layers(LayerCache& cache, const std::string& key,
                                     const sandbox::Overlay& layers, const fs::path& mount_point,
                                     int64_t source_date_epoch, const ExportChecks& checks,
                                     StepLog& log)
{
  fs::path final_dir = cache.exports_dir() / key;
  fs::path dir =
      cache.exports_dir() / (".tmp-" + key.substr(0, 16) + "-" + std::to_string(getpid()));
  KILN_TRY(util::remove_tree(dir));
  KILN_TRY(util::make_dirs(dir));
  cache.hold("export-" + key);
  sandbox::RunOptions options;
  options.root = mount_point;
  options.overlay = layers;
  log.command("export " + mount_point.string());
  auto result = sandbox::run_with_tree(
      options, [&] { return export_in_child(mount_point, dir, source_date_epoch, checks); }, &log);
  Status done = check_child(result, "export");
  if (!done && result) {
    // The child said what went wrong in its last error line.
    for (const auto& line : log.tail()) {
      if (line.rfind("kiln: error: ", 0) == 0)
        done = make_error(ExitCode::build_failed, line.substr(13));
    }
  }
  if (done && result->exit_code == 28)
    done = errno_error("cannot write", (dir / "rootfs.tar.zst").string(), ENOSPC);
  auto exported = done ? read_result(dir / "result.json") : Expected<ExportResult>(Error{});
  if (!done || !exported) {
    (void)util::remove_tree(dir);
    return done ? std::move(exported).error() : std::move(done).error();
  }
  (void)util::remove_tree(final_dir);
  if (::rename(dir.c_str(), final_dir.c_str()) != 0) {
    int err = errno;
    (void)util::remove_tree(dir);
    return errno_error("cannot store export", final_dir.string(), err);
  }
  return exported;
}

Status copy_export(LayerCache& cache, const std::string& key, const fs::path& out_dir)
{
  for (const char* name : {"rootfs.tar.zst", "security-audit.json", "security-audit.md"}) {
    fs::path source = cache.exports_dir() / key / name;
    fs::path target = out_dir / name;
    if (!fs::exists(source)) {
      fs::remove(target); // a report from an earlier build must not sit beside this image
      continue;
    }
    fs::path partial = out_dir / ("." + std::string(name) + ".partial");
    fs::remove(partial);
    // A hard link costs nothing; if OUT's copy is ever altered in place, the cached export fails
    // its sha256 check on next use and is made again.
    if (::link(source.c_str(), partial.c_str()) != 0) {
      std::error_code ec;
      fs::copy_file(source, partial, fs::copy_options::overwrite_existing, ec);
      if (ec) {
        fs::remove(partial);
        return errno_error("cannot copy the image to", partial.string(), ec.value());
      }
    }
    if (::rename(partial.c_str(), target.c_str()) != 0)
      return errno_error("cannot rename into place", target.string(), errno);
  }
  return ok_status();
}

} // namespace kiln::bake
