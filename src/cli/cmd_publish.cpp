#include "cli/commands.hpp"
#include "cli/release_options.hpp"
#include "release/check.hpp"
#include "release/publish.hpp"
#include "release/pull.hpp"
#include "util/strings.hpp"

#include <chrono>
#include <cstdio>

namespace kiln::cli {

using nlohmann::json;

namespace {

struct PublishOptions : ReleaseOptions {
  std::string out;
};

double seconds_since(std::chrono::steady_clock::time_point start)
{
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int run_publish(const PublishOptions& options)
{
  auto opened = open_release(options, store::OpenMode::create);
  if (!opened)
    return report(opened.error());
  auto start = std::chrono::steady_clock::now();
  auto result = release::publish(*opened->store, options.out, opened->config,
                                 [](const std::string& file) { progress_line("storing " + file); });
  if (!result)
    return report(result.error());
  double seconds = seconds_since(start);
  if (options.json) {
    print_json({{"name", result->name},
                {"version", result->version},
                {"unchanged", result->unchanged},
                {"signed_by", result->keyid.empty() ? json(nullptr) : json(result->keyid)},
                {"files", result->files},
                {"chunks", result->chunks},
                {"new_chunks", result->new_chunks},
                {"size", result->size},
                {"stored_bytes", result->new_bytes},
                {"seconds", seconds}});
    return 0;
  }
  std::string ref = result->name + "@" + result->version;
  if (result->unchanged) {
    std::printf("%s is already published with the same content; nothing changed\n", ref.c_str());
    return 0;
  }
  std::printf("published %s: %zu files, %s; %zu of %zu chunks new, %s stored, in %s\n", ref.c_str(),
              result->files, util::format_bytes(result->size).c_str(), result->new_chunks,
              result->chunks, util::format_bytes(result->new_bytes).c_str(),
              util::format_duration(seconds).c_str());
  std::printf("%s\n", result->keyid.empty()
                          ? "unsigned (no signing key configured)"
                          : ("signed by " + result->keyid + ", with its provenance").c_str());
  return 0;
}

struct PullOptions : ReleaseOptions {
  std::string ref, to;
  bool force = false;
};

int run_pull(const PullOptions& options)
{
  auto opened = open_release(options);
  if (!opened)
    return report(opened.error());
  auto result =
      release::pull(*opened->store, opened->config, options.ref, options.to, options.force,
                    [](const std::string& file) { progress_line("pulling " + file); });
  if (!result)
    return report(result.error());
  const auto& r = result->resolved;
  if (options.json) {
    print_json({{"name", r.name},
                {"version", r.version},
                {"resolved_by", r.how},
                {"revoked", r.revoked},
                {"signed_by", result->keyid.empty() ? json(nullptr) : json(result->keyid)},
                {"files", result->files},
                {"size", result->size},
                {"to", options.to}});
    return 0;
  }
  std::printf("pulled %s@%s (%s) into %s: %zu files, %s, every chunk and file checked\n",
              r.name.c_str(), r.version.c_str(), r.how.c_str(), options.to.c_str(), result->files,
              util::format_bytes(result->size).c_str());
  std::printf("%s\n", result->keyid.empty() ? "signature not checked (no public key configured)"
                                            : ("signature valid, by " + result->keyid).c_str());
  if (r.revoked)
    std::printf("warning: this version is revoked: %s\n", r.revoked_reason.c_str());
  return 0;
}

struct VerifyOptions : ReleaseOptions {
  std::string ref;
};

int run_verify(const VerifyOptions& options)
{
  auto opened = open_release(options);
  if (!opened)
    return report(opened.error());
  auto result = release::verify(*opened->store, opened->config, options.ref);
  if (!result)
    return report(result.error());
  if (options.json) {
    print_json({{"name", result->resolved.name},
                {"version", result->resolved.version},
                {"checked", result->checked},
                {"not_checked", result->skipped},
                {"warnings", result->warnings}});
    return 0;
  }
  for (const auto& line : result->checked)
    std::printf("ok       %s\n", line.c_str());
  for (const auto& line : result->skipped)
    std::printf("skipped  %s\n", line.c_str());
  for (const auto& line : result->warnings)
    std::printf("warning  %s\n", line.c_str());
  return 0;
}

} // namespace

Command add_publish(CLI::App& app)
{
  auto options = std::make_shared<PublishOptions>();
  auto* sub = app.add_subcommand("publish", "Publish a built image to the store as NAME@VERSION");
  sub->add_option("out", options->out, "The output folder of a kiln build")->required();
  add_release_options(sub, *options, Keys::signing);
  sub->footer(R"(Stores the chunks the store lacks (rootfs.tar.zst by its tar content, so a new
version stores little more than what changed), then makes the version visible in one step. A
published version never changes: publishing it again is a no-op when the files are the same and
is refused (exit 6) when they differ. With a signing key, the version and its provenance (in-toto
Statement v1, SLSA Provenance v1) are signed with Ed25519.

kiln.yaml (in the current folder, or --config) can hold:
  store: /srv/kiln-store
  signing: {key: keys/release.key, public_key: keys/release.pub}
  channels:
    - name: dev
    - name: staging
      requires: {tests_passed: true}
    - name: prod
      requires: {tests_passed: true, been_in: [staging]}
  retention: {keep_newest: 5, keep_younger_than: 14d}

Examples:
  kiln publish out/linux-agent --store /srv/kiln-store --key release.key
  KILN_STORE=file:///srv/kiln-store kiln publish out/linux-agent --json)");
  return {sub, [options] { return run_publish(*options); }};
}

Command add_pull(CLI::App& app)
{
  auto options = std::make_shared<PullOptions>();
  auto* sub = app.add_subcommand("pull", "Fetch a published version into a folder");
  sub->add_option("ref", options->ref, "NAME@VERSION, NAME@CHANNEL or NAME@RANGE")->required();
  sub->add_option("--to", options->to, "The folder to fill (new or empty)")->required();
  sub->add_flag("--force", options->force, "Take a revoked version anyway");
  add_release_options(sub, *options, Keys::public_key);
  sub->footer(R"(Reassembles the version's output folder, checking every chunk, every file's sha256
and, with a public key, the signature; any mismatch fails and names the object. The folder gets
the files only once all of them are whole. A revoked version is refused unless --force; a range
never picks one.

Examples:
  kiln pull linux-agent@prod --to /srv/images/agent --public-key release.pub
  kiln pull linux-agent@^1.2 --to agent-1.x
  kiln pull linux-agent@1.1.0 --to agent-1.1.0 --json)");
  return {sub, [options] { return run_pull(*options); }};
}

Command add_verify(CLI::App& app)
{
  auto options = std::make_shared<VerifyOptions>();
  auto* sub = app.add_subcommand("verify", "Check a published version's signature, provenance "
                                           "and every byte");
  sub->add_option("ref", options->ref, "NAME@VERSION, NAME@CHANNEL or NAME@RANGE")->required();
  add_release_options(sub, *options, Keys::public_key);
  sub->footer(R"(Says what it checked: the version's signature (with a public key), its provenance
(readable, signed, naming every file by sha256), and every chunk and file against its digest.
Exit 0 when everything checked passed, 4 with the object at fault otherwise.

Examples:
  kiln verify linux-agent@prod --public-key release.pub
  kiln verify linux-agent@1.1.0 --json)");
  return {sub, [options] { return run_verify(*options); }};
}

} // namespace kiln::cli
