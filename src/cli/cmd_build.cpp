#include "bake/builder.hpp"
#include "bake/cache_layout.hpp"
#include "bake/decision.hpp"
#include "cli/build_display.hpp"
#include "cli/commands.hpp"
#include "image/out_dir.hpp"
#include "release/pull.hpp"
#include "spec/loader.hpp"
#include "store/open.hpp"
#include "util/interrupt.hpp"
#include "util/semver.hpp"
#include "util/strings.hpp"

#include <csignal>
#include <cstdio>
#include <optional>
#include <unistd.h>

namespace kiln::cli {

namespace {

namespace fs = std::filesystem;

struct BuildCliOptions {
  std::string file;
  std::string out;
  std::string cache_dir;
  std::string store;
  std::string cache_from;
  std::string cache_to;
  std::string cache_secret_key;
  std::string signing_key;
  std::string public_key;
  int64_t source_date_epoch = -1;
  bool verbose = false;
  bool json = false;
  bool explain = false;
  std::optional<std::string> refresh;
  std::string max_age;
  std::string on_error = "cleanup";
  bool kvm = false;
  std::string version; // --version: instead of the definition's (kiln ci's X.Y.Z-dev.N+gSHA)
};

int interrupted_exit()
{
  int signal = util::interrupt_signal();
  std::fprintf(stderr, "kiln: interrupted by %s; nothing was left mounted or running\n",
               signal == SIGTERM ? "SIGTERM" : "SIGINT");
  return 128 + (signal ? signal : SIGINT);
}

void print_summary(const bake::BuildResult& result)
{
  std::printf("built %s %s in %s (%d of %d layers from the cache)\n", result.manifest.name.c_str(),
              result.manifest.version.c_str(), util::format_duration(result.seconds).c_str(),
              result.cached_layers, result.cached_layers + result.built_layers);
  for (const auto& output : result.manifest.outputs) {
    std::printf("  %-9s %s (%s)\n", output.name.c_str(), (result.out_dir / output.file).c_str(),
                util::format_bytes(output.size).c_str());
  }
  std::printf("  manifest  %s\n", result.manifest_path.c_str());
  if (const auto& audit = result.manifest.security; audit.is_object()) {
    std::printf("  security  %s (%d pass, %d fail, %d waived)\n",
                image::out::at(result.out_dir, image::out::kSecurityAuditMarkdown).c_str(),
                audit.value("pass", 0), audit.value("fail", 0), audit.value("waived", 0));
  }
  if (const auto& tests = result.manifest.tests; tests.is_object()) {
    auto junit = image::out::tests_at(result.out_dir, image::out::kJunit);
    std::printf("  tests     %s (%d passed)\n", junit.c_str(), tests.value("total", 0));
  }
  std::printf("  logs      %s\n", image::out::at(result.out_dir, image::out::kLogs).c_str());
}

// What the shared cache gave and took, and what it could not.
void print_shared(const bake::BuildResult& result, const bake::SharedCacheOptions& shared)
{
  if (!shared.from.empty())
    std::printf("  shared    %d layers from %s (%s read)\n", result.shared_layers,
                shared.from.c_str(), util::format_bytes(result.shared_bytes).c_str());
  if (!shared.to.empty())
    std::printf("  shared    %d layers uploaded to %s (%s of new chunks), %d already there\n",
                result.pushed_layers, shared.to.c_str(),
                util::format_bytes(result.pushed_bytes).c_str(), result.present_layers);
  for (const auto& note : result.shared_notes)
    std::fprintf(stderr, "kiln: warning: %s\n", note.c_str());
}

int print_explanation(const std::vector<bake::LayerExplanation>& layers, bool json)
{
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& l : layers) {
      out.push_back({{"step", l.step},
                     {"kind", l.kind},
                     {"key", l.key},
                     {"cached", l.hit},
                     {"shared", l.remote},
                     {"unknown", l.unknown},
                     {"why", l.why}});
    }
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  size_t hits = 0, shared = 0;
  for (const auto& l : layers) {
    hits += l.hit ? 1 : 0;
    shared += l.remote ? 1 : 0;
    std::printf("%-6s %-24s %-10s %s\n",
                l.hit       ? "hit"
                : l.remote  ? "shared"
                : l.unknown ? "?"
                            : "miss",
                l.step.c_str(), l.kind.c_str(),
                l.hit ? l.key.substr(0, 12).c_str() : l.why.c_str());
  }
  std::printf("%zu of %zu layers cached", hits, layers.size());
  if (shared > 0)
    std::printf(", %zu in the shared cache", shared);
  std::printf("; nothing was built (--explain)\n");
  return 0;
}

// A base that names a published image (kiln:NAME@CHANNEL, for a tree or a disk) is pulled from
// the store the settings give into the cache, verified as kiln pull verifies (every chunk, every
// file, the signature with a public key configured), and the definition then reads that folder.
Status fetch_store_bases(spec::Definition& definition, const config::Settings& settings)
{
  auto bases = spec::store_bases(definition.base);
  if (bases.empty())
    return ok_status();
  auto location = release::store_location(settings.release);
  if (!location) {
    Error error = location.error();
    error.hint = "the base kiln:" + bases[0]->ref +
                 " is pulled from the store: give --store, "
                 "KILN_STORE or store: in kiln.yaml";
    return error;
  }
  auto store = store::open_store(*location, store::OpenMode::existing, settings.remote);
  if (!store)
    return std::move(store).error();
  fs::path root = bake::cache::at(settings.cache_dir, bake::cache::kImages);
  for (auto* base : bases) {
    auto fetched = release::fetch_image(
        **store, settings.release, base->ref, root,
        [](const std::string& file) { std::fprintf(stderr, "  pulling %s\n", file.c_str()); });
    if (!fetched) {
      Error error = fetched.error();
      error.message = "the base kiln:" + base->ref + ": " + error.message;
      return error;
    }
    const auto& r = fetched->resolved;
    base->resolved = r.name + "@" + r.version + " (" + r.how + ")";
    std::fprintf(stderr, "base kiln:%s is %s from %s, %s; %s\n", base->ref.c_str(),
                 base->resolved.c_str(), location->c_str(),
                 fetched->pulled ? "pulled and checked" : "already pulled",
                 fetched->keyid.empty() ? "signature not checked (no public key configured)"
                                        : ("signed by " + fetched->keyid).c_str());
    if (definition.base.image_store && base == &*definition.base.image_store)
      definition.base.image = fetched->dir;
    else
      definition.base.disk->path = fetched->dir;
  }
  return ok_status();
}

int run_build(const BuildCliOptions& options)
{
  auto settings =
      load_settings({{"cache.dir", options.cache_dir, "--cache-dir"},
                     {"cache.max_age", options.max_age, "--max-age"},
                     {"store", options.store, "--store"},
                     {"cache.from", options.cache_from, "--cache-from"},
                     {"cache.to", options.cache_to, "--cache-to"},
                     {"cache.secret_key", options.cache_secret_key, "--cache-secret-key"},
                     {"signing.key", options.signing_key, "--key"},
                     {"signing.public_key", options.public_key, "--public-key"}});
  if (!settings)
    return report(settings.error());
  auto loaded = spec::load_definition(options.file, {settings->catalog});
  if (!loaded.definition) {
    report(loaded.diagnostics);
    std::fprintf(stderr, "kiln: error: %s is not %s; nothing was built\n", options.file.c_str(),
                 loaded.unreadable ? "readable" : "valid");
    return loaded.exit_code();
  }
  spec::Definition definition = *loaded.definition;
  if (!options.version.empty()) {
    if (auto parsed = util::parse_version(options.version); !parsed)
      return report(make_error(ExitCode::usage,
                               "--version '" + options.version +
                                   "' is not a semantic version: " + parsed.error().message));
    definition.version = options.version;
  }
  if (Status fetched = fetch_store_bases(definition, *settings); !fetched)
    return report(fetched.error());
  bake::BuildOptions build_options;
  build_options.out_dir = options.out.empty() ? std::filesystem::path("out") / definition.name
                                              : std::filesystem::path(options.out);
  build_options.out_dir = std::filesystem::absolute(build_options.out_dir);
  build_options.cache_dir = settings->cache_dir;
  if (options.source_date_epoch >= 0)
    build_options.source_date_epoch = options.source_date_epoch;
  build_options.refresh = options.refresh;
  build_options.keep_on_error = options.on_error == "abort";
  build_options.kvm = options.kvm;
  build_options.remote = settings->remote;
  build_options.shared = {settings->cache_from, settings->cache_to, settings->release.signing_key,
                          settings->release.public_key, settings->cache_secret_key};
  build_options.max_age = util::parse_duration(settings->max_age).value_or(bake::kDefaultMaxAge);
  if (options.explain) {
    auto layers = bake::explain(definition, build_options);
    if (!layers)
      return report(layers.error());
    return print_explanation(*layers, options.json);
  }

  BuildDisplay display(stderr, ::isatty(STDERR_FILENO) != 0, options.verbose);
  auto result = bake::build(definition, build_options, display);
  if (!result) {
    if (result.error().code == ExitCode::interrupted || util::interrupt_signal() != 0)
      return interrupted_exit();
    return report(result.error());
  }
  if (options.json) {
    nlohmann::json out = {
        {"out_dir", result->out_dir.string()},  {"cached_layers", result->cached_layers},
        {"built_layers", result->built_layers}, {"manifest_path", result->manifest_path.string()},
        {"seconds", result->seconds},           {"manifest", image::to_json(result->manifest)}};
    if (!build_options.shared.from.empty() || !build_options.shared.to.empty())
      out["shared_cache"] = {
          {"from", build_options.shared.from},        {"to", build_options.shared.to},
          {"layers_read", result->shared_layers},     {"bytes_read", result->shared_bytes},
          {"layers_uploaded", result->pushed_layers}, {"layers_present", result->present_layers},
          {"bytes_uploaded", result->pushed_bytes},   {"notes", result->shared_notes}};
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    print_summary(*result);
    print_shared(*result, build_options.shared);
  }
  return 0;
}

} // namespace

Command add_build(CLI::App& app)
{
  auto options = std::make_shared<BuildCliOptions>();
  auto* sub = app.add_subcommand("build", "Bake an image from a definition (needs root)");
  sub->add_option("file", options->file, "The image definition (YAML)")->required();
  sub->add_option("--out,-o", options->out, "Output folder (default: out/NAME)");
  sub->add_option("--cache-dir", options->cache_dir,
                  "Layer and download cache (default: $KILN_CACHE_DIR or /var/cache/kiln)");
  sub->add_option("--store", options->store,
                  "The store a kiln:NAME@CHANNEL base is pulled from (default: KILN_STORE, or "
                  "kiln.yaml)");
  sub->add_option("--cache-from", options->cache_from,
                  "A shared layer cache (a store: folder or s3://BUCKET/PREFIX) looked up after "
                  "the local one (cache.from; KILN_CACHE_FROM)");
  sub->add_option("--cache-to", options->cache_to,
                  "A store the build's layers are uploaded to, signed with signing.key "
                  "(cache.to; KILN_CACHE_TO)");
  sub->add_option("--cache-secret-key", options->cache_secret_key,
                  "The fleet's root-only key file that secrets are HMAC'd with in cache keys, so "
                  "that steps with secrets are shared too (cache.secret_key)");
  sub->add_option("--key", options->signing_key,
                  "Signs the layers --cache-to uploads (signing.key; KILN_SIGNING_KEY)");
  sub->add_option("--public-key", options->public_key,
                  "The key the layers of --cache-from must be signed with (signing.public_key)");
  sub->add_flag("--explain", options->explain,
                "Say per step whether it is cached and, if not, what changed; build nothing");
  sub->add_option("--refresh", options->refresh,
                  "Rebuild from this step on: a step name, base, or all");
  sub->add_option(
      "--max-age", options->max_age,
      "Rebuild base, package and ansible layers older than this (default 7d; $KILN_MAX_AGE)");
  sub->add_option("--source-date-epoch", options->source_date_epoch,
                  "Clamp file times to this Unix time (default: $SOURCE_DATE_EPOCH, else the "
                  "base layer's: the time of the commit that last changed base:)");
  sub->add_option("--on-error", options->on_error,
                  "cleanup (default): a failed bake leaves only its logs; abort: it also keeps "
                  "the failed tree for `kiln shell OUT`")
      ->check(CLI::IsMember({"cleanup", "abort"}));
  sub->add_option("--version", options->version,
                  "Version the image as this instead of the definition's version: (semver; kiln "
                  "ci gives X.Y.Z-dev.N+gSHA)");
  sub->add_flag("--kvm", options->kvm,
                "builder: vm: boot the machine with KVM instead of TCG (where KVM works)");
  sub->add_flag("--verbose,-v", options->verbose, "Show every command as it runs");
  sub->add_flag("--json", options->json, "Print the result and manifest as JSON on stdout");
  sub->footer(R"(Writes OUT/rootfs.tar.zst, OUT/manifest.json (written last: a folder with a
manifest is complete), OUT/sbom.cdx.json (CycloneDX 1.5), OUT/software-report.md
and .json, OUT/report.html, OUT/files.json, OUT/timings.json, OUT/tests/junit.xml
when the definition has tests, and OUT/logs/NN-step.log. On failure it names the
step, shows the last 20 lines of its log and exits non-zero; Ctrl-C stops the build
and leaves nothing mounted or running. With --on-error=abort the failed step's tree
(the layers below it and its changes so far) is kept: `kiln shell OUT` enters it.

Each step's result is a layer in the cache, keyed by the layer below it, the step
and the content of every file it reads: a rebuild runs only the steps whose inputs
changed. Package lists and downloads are cached too.

With builder: vm the base disk (base: {disk: ...}) is booted in QEMU (TCG unless
--kvm), the steps run in it over SSH (Ansible too; reboot: true reboots after a
step), and its root file system is captured as one layer; the machine's serial
console is kept in OUT/logs/vm-console.log.

A base may name a published image, base: kiln:NAME@CHANNEL (or, for the VM builder,
base: {disk: kiln:NAME@CHANNEL}; a version or a range works too): it is pulled from
the store into CACHE/images, checked as kiln pull checks it, and reused while the
store's version is the same. --explain pulls it too.

A fleet of machines that start empty (ephemeral CI agents) shares one layer cache
through a store: --cache-from looks each layer up there after a local miss and
downloads it instead of running the step (the keys are the local cache's, so a
hit is as safe); --cache-to uploads the build's layers that store lacks (only the
chunks it lacks), beside the build, signed with signing.key; a layer is used only when
signed by signing.public_key. Steps with secrets are shared only with a fleet-wide
cache.secret_key (a root-only file; it never goes to the store). --explain says
which layers the shared cache holds.

Examples:
  sudo AGENT_FEED_TOKEN=kiln-example-feed-token kiln build examples/linux-agent/image.yaml
  sudo kiln build image.yaml --explain          # what would be rebuilt, and why
  sudo kiln build image.yaml --refresh tools    # rebuild from step 'tools' on
  sudo kiln build image.yaml --refresh all      # fresh package lists and packages
  sudo kiln build image.yaml --on-error=abort   # a failure keeps the tree: then
  sudo kiln shell out/NAME                      # a shell where the step failed
  sudo kiln build image.yaml --out /srv/images/agent --verbose
  sudo kiln build vm.yaml --store /srv/kiln-store  # base: {disk: kiln:linux-agent@prod}
  sudo kiln build image.yaml --cache-from s3://ci-cache/kiln --cache-to s3://ci-cache/kiln \
       --key /etc/kiln/cache.key --public-key /etc/kiln/cache.pub
  sudo SOURCE_DATE_EPOCH=1700000000 kiln build image.yaml --json | jq .manifest.outputs)");
  return {sub, [options] { return run_build(*options); }};
}

} // namespace kiln::cli
