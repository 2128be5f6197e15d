#include "cli/commands.hpp"
#include "cli/release_options.hpp"
#include "release/publish.hpp"
#include "util/strings.hpp"

#include <algorithm>
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
  auto result = [&] {
    TransferTicker ticker(*opened->store, true);
    return release::publish(*opened->store, options.out, opened->config,
                            [](const std::string& file) { progress_line("storing " + file); });
  }();
  if (!result)
    return report(result.error());
  double seconds = seconds_since(start);
  uint64_t sent = opened->store->bytes_sent();
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
                {"sent_bytes", sent},
                {"seconds", seconds}});
    return 0;
  }
  std::string ref = result->name + "@" + result->version;
  if (result->unchanged) {
    std::printf("%s is already published with the same content; nothing changed\n", ref.c_str());
    return 0;
  }
  std::printf("published %s: %zu files, %s; %zu of %zu chunks new, %s stored, in %s (%s/s)\n",
              ref.c_str(), result->files, util::format_bytes(result->size).c_str(),
              result->new_chunks, result->chunks, util::format_bytes(result->new_bytes).c_str(),
              util::format_duration(seconds).c_str(),
              util::format_bytes(static_cast<double>(sent) / std::max(seconds, 1e-3)).c_str());
  std::printf("%s\n", result->keyid.empty()
                          ? "unsigned (no signing key configured)"
                          : ("signed by " + result->keyid + ", with its provenance").c_str());
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

kiln.yaml (in the current folder, or --config; kiln config show lists every setting) can hold:
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

} // namespace kiln::cli
