#include "bake/inputs.hpp"

#include "bake/ansible_host.hpp"
#include "bake/cache_layout.hpp"
#include "bake/tree_memo.hpp"
#include "cloud/s3.hpp"
#include "util/digest_memo.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/http.hpp"
#include "util/strings.hpp"

#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln::bake {

namespace fs = std::filesystem;

namespace {

std::string where(const spec::Definition& definition, const spec::Step& step)
{
  return definition.file.filename().string() + ":" + std::to_string(step.position.line) + ":" +
         std::to_string(step.position.column);
}

// A file the definition uses must be inside the definition's folder once every link is
// followed: a link in the repository to /etc/shadow would otherwise bring a host file into the
// image. Checked before the file is read, so kiln never reveals anything of a file outside.
Status check_inside_definition(const spec::Definition& definition, const fs::path& path,
                               const std::string& what)
{
  std::error_code ec;
  fs::path folder = fs::canonical(definition.dir, ec);
  fs::path real = fs::weakly_canonical(path, ec);
  if (ec || !util::lexically_within(folder, real))
    return make_error(ExitCode::input,
                      what + " " + path.string() + " is outside the definition's folder " +
                          folder.string() + " (links are followed)",
                      "keep every input next to the definition; serve other artifacts over "
                      "https:// with their sha256");
  return ok_status();
}

Status add_file_input(const spec::Definition& definition, const std::string& relative,
                      Inputs& inputs)
{
  KILN_TRY(check_inside_definition(definition, definition.dir / relative, "the input"));
  auto digest = util::sha256_tree(definition.dir / relative);
  if (!digest)
    return std::move(digest).error();
  inputs.files.push_back({relative, *digest});
  return ok_status();
}

// A shell step's script, a file step's source.
Status add_step_files(const spec::Definition& definition, const spec::Step& step, Inputs& inputs)
{
  if (const auto* shell = std::get_if<spec::ShellStep>(&step.body); shell && !shell->script.empty())
    KILN_TRY(add_file_input(definition, shell->script, inputs));
  if (const auto* file = std::get_if<spec::FileStep>(&step.body))
    KILN_TRY(add_file_input(definition, file->src, inputs));
  return ok_status();
}

Expected<fs::path> download_verified(const spec::Definition& definition, const spec::Step& step,
                                     const spec::ArtifactStep& artifact, const fs::path& cached,
                                     StepLog& log, const store::RemoteOptions& remote)
{
  fs::path partial = cached;
  partial += ".partial-" + std::to_string(getpid());
  std::string url = artifact.url;
  if (url.rfind("file:", 0) == 0) {
    fs::path local = fs::absolute(spec::local_artifact_path(definition, url));
    KILN_TRY(
        check_inside_definition(definition, local, "the artifact of step '" + step.name + "'"));
    url = "file://" + local.string();
  }
  log.note("fetching " + util::redact_url(url));
  log.command("fetch " + util::redact_url(url));
  auto progress = [&log](double done, double total) {
    std::string text = "download " + util::format_bytes(done);
    if (total > 0)
      text += " / " + util::format_bytes(total);
    log.observer().phase_progress(text);
    log.observer().tick();
  };
  Status fetched =
      url.rfind("s3://", 0) == 0
          ? cloud::download_s3(url, partial,
                               {remote.endpoint, remote.region, remote.profile, remote.addressing},
                               progress)
          : util::download(url, partial, progress);
  if (!fetched) {
    fs::remove(partial);
    Error error = std::move(fetched).error();
    error.message =
        "artifact of step '" + step.name + "' (" + where(definition, step) + "): " + error.message;
    return error;
  }
  auto actual = util::sha256_file(partial);
  if (!actual) {
    fs::remove(partial);
    return std::move(actual).error();
  }
  if (*actual != artifact.sha256) {
    fs::remove(partial);
    return make_error(ExitCode::input,
                      "artifact of step '" + step.name + "' (" + where(definition, step) +
                          ") does not match its sha256: expected " + artifact.sha256 + ", got " +
                          *actual + " for " + util::redact_url(artifact.url),
                      "if this download is the one you trust, set sha256: " + *actual +
                          "; otherwise check the URL");
  }
  if (::rename(partial.c_str(), cached.c_str()) != 0) {
    int err = errno;
    fs::remove(partial);
    return errno_error("cannot store", cached.string(), err);
  }
  log.note("verified sha256 " + *actual);
  return cached;
}

// The playbook's whole folder, the roles folder, and the controller's version; with `check`, the
// playbook's syntax too.
//
// ansible-playbook's version, kept by the stat data of the program (installing or upgrading
// Ansible, from Debian or pip, writes it anew): asking Python takes most of a second.
Expected<std::string> known_ansible_version(LayerCache& cache)
{
  std::string program = util::find_program("ansible-playbook");
  struct stat st {};
  if (program.empty() || ::stat(program.c_str(), &st) != 0)
    return ansible_version(); // says what is missing
  nlohmann::json question = {{"ansible_version_of", program}, {"stat", util::stat_signature(st)}};
  if (auto known = recall_answer(cache, "", question); known && known->is_string())
    return known->get<std::string>();
  auto version = ansible_version();
  if (version)
    remember_answer(cache, "", question, *version);
  return version;
}

Status add_ansible_inputs(const spec::Definition& definition, const spec::Step& step,
                          const spec::AnsibleStep& ansible, LayerCache& cache, bool check,
                          Inputs& inputs, StepLog& log)
{
  if (inputs.ansible_version.empty()) {
    auto version = known_ansible_version(cache);
    if (!version)
      return std::move(version).error();
    inputs.ansible_version = *version;
    log.note("ansible: " + *version);
  }
  // What the syntax check reads: the playbook's folder, the roles, the variables, Ansible itself.
  nlohmann::json question = {{"ansible_syntax", ansible.playbook},
                             {"ansible", inputs.ansible_version},
                             {"extra_vars", ansible.extra_vars}};
  KILN_TRY(add_file_input(definition, ansible.folder(), inputs));
  question["folder"] = inputs.files.back().sha256;
  if (!ansible.roles_path.empty()) {
    KILN_TRY(add_file_input(definition, ansible.roles_path, inputs));
    question["roles"] = inputs.files.back().sha256;
  }
  if (!check)
    return ok_status();
  if (recall_answer(cache, "", question)) {
    log.note("the playbook passed ansible-playbook --syntax-check before, unchanged");
    return ok_status();
  }
  fs::path scratch = cache::scratch(cache.dir(), "ansible-check");
  KILN_TRY(util::make_dirs(scratch));
  Status checked = check_playbook(definition, step, scratch, log);
  KILN_TRY(util::remove_tree(scratch));
  if (checked)
    remember_answer(cache, "", question, true);
  return checked;
}

} // namespace

Expected<fs::path> fetch_artifact(const spec::Definition& definition, const spec::Step& step,
                                  LayerCache& cache, StepLog& log,
                                  const store::RemoteOptions& remote)
{
  const auto& artifact = std::get<spec::ArtifactStep>(step.body);
  fs::path dir = cache::at(cache.dir(), cache::kArtifacts);
  KILN_TRY(util::make_dirs(dir));
  // Artifacts may be private (licensed tools, internal builds): only root reads the cache's copy.
  ::chmod(dir.c_str(), 0700);
  fs::path cached = dir / artifact.sha256;
  if (fs::exists(cached)) {
    // The cache is only trusted after a check (by its stat data while it is unchanged since it
    // was last hashed): a corrupted entry is fetched again.
    auto digest = cache.digests().sha256_file(cached);
    if (digest && *digest == artifact.sha256) {
      log.note("using cached " + cached.string());
      ::utimensat(AT_FDCWD, cached.c_str(), nullptr, 0); // last use: now, for `kiln cache prune`
      return cached;
    }
    log.note("cached " + cached.string() + " is damaged; fetching again");
    fs::remove(cached);
  }
  return download_verified(definition, step, artifact, cached, log, remote);
}

// The parent, checked against its manifest: a layer is never built on an image that is not what
// its manifest says.
Expected<ParentImage> resolve_parent(const fs::path& dir, util::DigestMemo& digests, StepLog& log)
{
  auto parent = image::out::read_verified(dir, "the parent image", &digests);
  if (!parent)
    return std::move(parent).error();
  log.note("parent image " + parent->name + " " + parent->version + ", rootfs " +
           parent->sha256_of(image::out::kRootfsTar));
  return parent;
}

Expected<Inputs> resolve_inputs(const spec::Definition& definition, LayerCache& cache, bool fetch,
                                StepLog& log, const store::RemoteOptions& remote)
{
  Inputs inputs;
  if (!definition.base.image.empty()) {
    auto parent = resolve_parent(definition.base.image, cache.digests(), log);
    if (!parent)
      return std::move(parent).error();
    inputs.parent = std::move(*parent);
  }
  // A published image pulled for the base is held against `kiln cache prune` while it is used.
  if (definition.base.image_store)
    cache.hold("image-" + definition.base.image.filename().string());
  if (definition.base.disk && definition.base.disk->store)
    cache.hold("image-" + definition.base.disk->path.filename().string());
  if (definition.base.disk) {
    auto disk = resolve_base_disk(*definition.base.disk, cache.digests(), log);
    if (!disk)
      return std::move(disk).error();
    inputs.base_disk = std::move(*disk);
  }
  auto digest = util::sha256_file(definition.file);
  if (!digest)
    return std::move(digest).error();
  inputs.definition_sha256 = *digest;
  for (const auto& certificate : definition.requirements.network.ca_certificates)
    KILN_TRY(add_file_input(definition, certificate, inputs));
  for (const auto& step : definition.steps) {
    KILN_TRY(add_step_files(definition, step, inputs));
    if (const auto* artifact = std::get_if<spec::ArtifactStep>(&step.body); artifact && fetch) {
      auto path = fetch_artifact(definition, step, cache, log, remote);
      if (!path)
        return std::move(path).error();
      inputs.artifact_files[step.name] = *path;
    }
    if (const auto* artifact = std::get_if<spec::ArtifactStep>(&step.body))
      inputs.artifacts.push_back({step.name, util::redact_url(artifact->url), artifact->sha256});
    if (const auto* ansible = std::get_if<spec::AnsibleStep>(&step.body))
      KILN_TRY(add_ansible_inputs(definition, step, *ansible, cache, fetch, inputs, log));
  }
  return inputs;
}

Expected<SourceDigests> source_digests(const spec::Definition& definition)
{
  Inputs inputs;
  auto digest = util::sha256_file(definition.file);
  if (!digest)
    return std::move(digest).error();
  for (const auto& certificate : definition.requirements.network.ca_certificates)
    KILN_TRY(add_file_input(definition, certificate, inputs));
  for (const auto& step : definition.steps) {
    KILN_TRY(add_step_files(definition, step, inputs));
    if (const auto* ansible = std::get_if<spec::AnsibleStep>(&step.body)) {
      KILN_TRY(add_file_input(definition, ansible->folder(), inputs));
      if (!ansible->roles_path.empty())
        KILN_TRY(add_file_input(definition, ansible->roles_path, inputs));
    }
  }
  return SourceDigests{*digest, std::move(inputs.files)};
}

} // namespace kiln::bake
