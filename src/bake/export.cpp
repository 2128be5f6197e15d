#include "bake/export.hpp"

#include "bake/bootstrap.hpp"
#include "image/generalize.hpp"
#include "image/tar_export.hpp"
#include "security/baseline.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"

#include <clocale>
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

// Writes NAME in the folder open as `dir`: the facts child sees only the image, so it writes
// through a descriptor opened before it entered the tree.
Status write_at(int dir, const std::string& name, const std::string& content)
{
  int fd = ::openat(dir, name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0)
    return errno_error("cannot write", name, errno);
  bool written = ::write(fd, content.data(), content.size()) == ssize_t(content.size());
  int err = errno;
  ::close(fd);
  return written ? ok_status() : errno_error("cannot write", name, err);
}

// Audits the finished tree and writes security-audit.json and .md beside the tar.
Expected<json> write_audit(int dir, const spec::Security& security)
{
  auto findings = security::audit("/", security.waive);
  if (!findings)
    return std::move(findings).error();
  json report = security::report_json(*findings);
  KILN_TRY(write_at(dir, "security-audit.json", report.dump(2) + "\n"));
  KILN_TRY(write_at(dir, "security-audit.md", security::report_markdown(*findings)));
  for (const auto& f : *findings) {
    if (f.status == "fail")
      std::printf("security audit: %s FAILED: %s\n", f.rule.c_str(), f.detail.c_str());
  }
  return report["summary"];
}

int child_error(const Error& error, int code = 1)
{
  std::printf("kiln: error: %s\n", error.message.c_str());
  return code;
}

// Runs in a child whose root is the image (sandbox::run_code_in_tree): what the image says of
// itself (packages, os-release, users, the files no package owns, the audit) is read with every
// link resolved inside the image, never on the build host. Writes facts.json into `dir`.
int facts_in_tree(int dir, const ExportChecks& checks)
{
  const fs::path tree = "/";
  auto packages = image::installed_packages_with_licenses(tree);
  if (!packages)
    return child_error(packages.error());
  json audit;
  if (checks.security) {
    auto summary = write_audit(dir, *checks.security);
    if (!summary)
      return child_error(summary.error());
    audit = *summary;
  }
  auto unowned = image::unowned_files(tree);
  if (!unowned)
    return child_error(unowned.error());
  ExportResult facts;
  facts.packages = std::move(*packages);
  facts.security = audit;
  facts.os = image::read_os_release(tree);
  facts.users = image::read_users(tree);
  facts.unowned = std::move(*unowned);
  Status written = write_at(dir, "facts.json", to_json(facts).dump() + "\n");
  return written ? 0 : child_error(written.error());
}

// Runs in a child with the tree mounted at `tree`: the tar, read without following any link.
int tar_in_child(const fs::path& tree, const fs::path& dir, int64_t epoch,
                 const ExportChecks& checks)
{
  auto progress = [](uint64_t entries, uint64_t bytes) {
    std::printf("exported %llu files, %llu MiB\n", static_cast<unsigned long long>(entries),
                static_cast<unsigned long long>(bytes >> 20));
    std::fflush(stdout);
  };
  const util::Redactor* secrets =
      checks.secrets && !checks.secrets->empty() ? checks.secrets : nullptr;
  // libarchive writes names as UTF-8 from the locale's character set: the same locale on every
  // machine (glibc always has C.UTF-8) gives the same bytes, whatever the user's locale is.
  std::setlocale(LC_CTYPE, "C.UTF-8");
  auto tar = image::write_rootfs_tar(tree, dir / "rootfs.tar.zst", epoch, progress, secrets);
  if (!tar)
    return child_error(tar.error(), tar.error().code == ExitCode::environment ? 28 : 1);
  json written = {{"sha256", tar->sha256}, {"size", tar->size}, {"entries", tar->entries}};
  Status saved = util::write_file_atomic(dir / "tar.json", written.dump() + "\n");
  std::printf("rootfs.tar.zst: %llu entries, %llu bytes, sha256 %s\n",
              static_cast<unsigned long long>(tar->entries),
              static_cast<unsigned long long>(tar->size), tar->sha256.c_str());
  return saved ? 0 : 1;
}

// The facts and the tar's digest, as one result.json.
Status merge_result(const fs::path& dir)
{
  auto facts = util::read_json_file(dir / "facts.json");
  auto tar = util::read_json_file(dir / "tar.json");
  if (!facts)
    return std::move(facts).error();
  if (!tar)
    return std::move(tar).error();
  for (const auto& [key, value] : tar->items())
    (*facts)[key] = value;
  KILN_TRY(util::write_file_atomic(dir / "result.json", facts->dump() + "\n"));
  fs::remove(dir / "facts.json");
  fs::remove(dir / "tar.json");
  return ok_status();
}

// The child said what went wrong in its last error line.
Status child_status(const Expected<util::ProcessResult>& result, const std::string& what,
                    const fs::path& dir, StepLog& log)
{
  Status done = check_child(result, what);
  if (!done && result) {
    for (const auto& line : log.tail()) {
      if (line.rfind("kiln: error: ", 0) == 0)
        done = make_error(ExitCode::build_failed, line.substr(13));
    }
  }
  if (done && result->exit_code == 28)
    done = errno_error("cannot write", (dir / "rootfs.tar.zst").string(), ENOSPC);
  return done;
}

Status write_export(const sandbox::Overlay& layers, const fs::path& mount_point,
                    const fs::path& dir, int64_t source_date_epoch, const ExportChecks& checks,
                    StepLog& log)
{
  sandbox::RunOptions options;
  options.root = mount_point;
  options.overlay = layers;
  log.command("read the image's packages, users and files in " + mount_point.string());
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0)
    return errno_error("cannot open", dir.string(), errno);
  auto facts = sandbox::run_code_in_tree(
      options, [&] { return facts_in_tree(dir_fd, checks); }, &log);
  ::close(dir_fd);
  KILN_TRY(child_status(facts, "reading the image", dir, log));
  log.command("export " + mount_point.string());
  auto tar = sandbox::run_with_tree(
      options, [&] { return tar_in_child(mount_point, dir, source_date_epoch, checks); }, &log);
  KILN_TRY(child_status(tar, "export", dir, log));
  return merge_result(dir);
}

} // namespace

std::optional<ExportResult> find_export(LayerCache& cache, const std::string& key, StepLog& log)
{
  fs::path dir = cache.exports_dir() / key;
  if (!fs::exists(dir / "result.json"))
    return std::nullopt;
  cache.hold("export-" + key);
  auto result = read_result(dir / "result.json");
  auto actual = cache.digests().sha256_file(dir / "rootfs.tar.zst");
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
  Status done = write_export(layers, mount_point, dir, source_date_epoch, checks, log);
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
