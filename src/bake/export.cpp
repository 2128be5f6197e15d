#include "bake/export.hpp"

#include "bake/bootstrap.hpp"
#include "bake/exporters/registry.hpp"
#include "image/generalize.hpp"
#include "image/out_dir.hpp"
#include "sandbox/child_report.hpp"
#include "sandbox/mounts.hpp"
#include "security/baseline.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"

#include <algorithm>
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
  json outputs = json::array();
  for (const auto& o : r.outputs)
    outputs.push_back(image::to_json(o));
  return {{"outputs", outputs},         {"packages", packages}, {"security", r.security},
          {"os", image::to_json(r.os)}, {"users", users},       {"unowned", r.unowned}};
}

Expected<ExportResult> read_result(const fs::path& file)
{
  auto text = util::read_file(file);
  if (!text)
    return std::move(text).error();
  try {
    json j = json::parse(*text);
    ExportResult r;
    for (const auto& o : j.at("outputs"))
      r.outputs.push_back(image::output_from_json(o));
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

// Runs in the child: the tree is mounted at `tree`. What it removes is logged, for people.
int generalize_in_child(const fs::path& tree, const sandbox::ChildReport& report)
{
  auto done = image::generalize(tree);
  if (!done)
    return report.fail(done.error());
  for (const auto& path : done->removed)
    std::printf("removed /%s\n", path.c_str());
  for (const auto& path : done->truncated)
    std::printf("emptied /%s\n", path.c_str());
  for (const auto& path : done->replaced)
    std::printf("reset /%s to localhost\n", path.c_str());
  fs::path policy = tree / "usr/sbin/policy-rc.d";
  auto content = util::read_file(policy);
  if (content && *content == kPolicyRcD) {
    fs::remove(policy);
    std::printf("removed /usr/sbin/policy-rc.d (kiln's own)\n");
  }
  std::fflush(stdout);
  return report.send(nullptr);
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
  KILN_TRY(write_at(dir, std::string(image::out::kSecurityAudit), report.dump(2) + "\n"));
  KILN_TRY(write_at(dir, std::string(image::out::kSecurityAuditMarkdown),
                    security::report_markdown(*findings)));
  for (const auto& f : *findings) {
    if (f.status == "fail")
      std::printf("security audit: %s FAILED: %s\n", f.rule.c_str(), f.detail.c_str());
  }
  return report["summary"];
}

// Runs in a child whose root is the image (sandbox::run_code_in_tree): what the image says of
// itself (packages, os-release, users, the files no package owns, the audit) is read with every
// link resolved inside the image, never on the build host. The audit's reports go into `dir`;
// the facts are the child's report.
int facts_in_tree(int dir, const ExportChecks& checks, const sandbox::ChildReport& report)
{
  const fs::path tree = "/";
  auto packages = image::installed_packages_with_licenses(tree);
  if (!packages)
    return report.fail(packages.error());
  json audit;
  if (checks.security) {
    auto summary = write_audit(dir, *checks.security);
    if (!summary)
      return report.fail(summary.error());
    audit = *summary;
  }
  auto unowned = image::unowned_files(tree);
  if (!unowned)
    return report.fail(unowned.error());
  ExportResult facts;
  facts.packages = std::move(*packages);
  facts.security = audit;
  facts.os = image::read_os_release(tree);
  facts.users = image::read_users(tree);
  facts.unowned = std::move(*unowned);
  return report.send(to_json(facts));
}

// Runs in a child with the tree mounted at `tree`: each exporter writes its output, reading the
// tree without following any link; the list of outputs is the child's report.
int outputs_in_child(const fs::path& tree, const fs::path& dir, const ExportJob& job,
                     const sandbox::ChildReport& report)
{
  const util::Redactor* secrets =
      job.checks.secrets && !job.checks.secrets->empty() ? job.checks.secrets : nullptr;
  ExportTarget target{tree, dir, job.source_date_epoch, secrets, "", dir / ".shared"};
  json written = json::array();
  for (const auto& exporter : *job.exporters) {
    auto output = exporter->write(target);
    if (!output) {
      (void)util::remove_tree(target.shared);
      return report.fail(output.error());
    }
    if (exporter->name() == "rootfs") // the registry writes it first: the disks' ids come from it
      target.image_digest = output->sha256;
    written.push_back(image::to_json(*output));
  }
  if (Status removed = util::remove_tree(target.shared); !removed)
    return report.fail(removed.error());
  return report.send(written);
}

Status write_export(const sandbox::Overlay& layers, const fs::path& mount_point,
                    const fs::path& dir, const ExportJob& job, StepLog& log)
{
  sandbox::RunOptions options;
  options.root = mount_point;
  options.overlay = layers;
  log.command("read the image's packages, users and files in " + mount_point.string());
  sandbox::Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() < 0)
    return errno_error("cannot open", dir.string(), errno);
  auto facts_report = sandbox::ChildReport::open();
  if (!facts_report)
    return std::move(facts_report).error();
  auto facts_ended = sandbox::run_code_in_tree(
      options, [&] { return facts_in_tree(dir_fd.get(), job.checks, *facts_report); }, &log);
  auto facts = facts_report->receive(facts_ended, "reading the image");
  if (!facts)
    return std::move(facts).error();
  log.command("export " + mount_point.string());
  auto outputs_report = sandbox::ChildReport::open();
  if (!outputs_report)
    return std::move(outputs_report).error();
  auto outputs_ended = sandbox::run_with_tree(
      options, [&] { return outputs_in_child(mount_point, dir, job, *outputs_report); }, &log);
  auto outputs = outputs_report->receive(outputs_ended, "export");
  if (!outputs)
    return std::move(outputs).error();
  (*facts)["outputs"] = std::move(*outputs);
  return util::write_file_atomic(dir / "result.json", facts->dump() + "\n");
}

} // namespace

Expected<ExportResult> read_export(const fs::path& dir)
{
  return read_result(dir / "result.json");
}

std::optional<ExportResult> find_export(LayerCache& cache, const std::string& key, StepLog& log)
{
  fs::path dir = cache.exports_dir() / key;
  if (!fs::exists(dir / "result.json"))
    return std::nullopt;
  cache.hold("export-" + key);
  auto result = read_result(dir / "result.json");
  bool intact = result && !result->outputs.empty();
  for (size_t i = 0; intact && i < result->outputs.size(); ++i) {
    const auto& output = result->outputs[i];
    auto actual = cache.digests().sha256_file(dir / output.file);
    intact = actual && *actual == output.sha256;
  }
  if (intact) {
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
  auto report = sandbox::ChildReport::open();
  if (!report)
    return std::move(report).error();
  auto ended = sandbox::run_with_tree(
      options, [&] { return generalize_in_child(mount_point, *report); }, &log);
  auto received = report->receive(ended, "generalize");
  if (!received)
    return std::move(received).error();
  return ok_status();
}

Expected<ExportResult> export_layers(LayerCache& cache, const std::string& key,
                                     const sandbox::Overlay& layers, const fs::path& mount_point,
                                     const ExportJob& job, StepLog& log)
{
  fs::path final_dir = cache.exports_dir() / key;
  fs::path dir =
      cache.exports_dir() / (".tmp-" + key.substr(0, 16) + "-" + std::to_string(getpid()));
  KILN_TRY(util::remove_tree(dir));
  KILN_TRY(util::make_dirs(dir));
  cache.hold("export-" + key);
  Status done = write_export(layers, mount_point, dir, job, log);
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

Status copy_export(LayerCache& cache, const std::string& key, const ExportResult& exported,
                   const fs::path& out_dir)
{
  std::vector<std::string> names = {std::string(image::out::kSecurityAudit),
                                    std::string(image::out::kSecurityAuditMarkdown)};
  for (const auto& output : exported.outputs)
    names.push_back(output.file);
  for (const auto& name : names) {
    fs::path source = cache.exports_dir() / key / name;
    fs::path target = out_dir / name;
    if (!fs::exists(source)) {
      fs::remove(target); // a report from an earlier build must not sit beside this image
      continue;
    }
    struct stat have {
    }, want{};
    if (::stat(target.c_str(), &have) == 0 && ::stat(source.c_str(), &want) == 0 &&
        have.st_dev == want.st_dev && have.st_ino == want.st_ino)
      continue; // already this export's file: linking again would only change its ctime
    fs::path partial = out_dir / ("." + name + ".partial");
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
  for (const auto& name : all_output_files()) { // an output the definition no longer asks for
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      std::error_code ec;
      fs::remove(out_dir / name, ec);
      fs::remove(out_dir / ("." + name + ".partial"), ec);
    }
  }
  return ok_status();
}

} // namespace kiln::bake
