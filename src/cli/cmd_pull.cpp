#include "cli/commands.hpp"
#include "cli/release_options.hpp"
#include "release/pull.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <cstdio>

namespace kiln::cli {

using nlohmann::json;

namespace {

struct PullOptions : ReleaseOptions {
  std::string ref, to;
  bool force = false;
};

int run_pull(const PullOptions& options)
{
  auto opened = open_release(options);
  if (!opened)
    return report(opened.error());
  double seconds = 0;
  auto result = [&] {
    TransferTicker ticker(*opened->store, false);
    auto pulled =
        release::pull(*opened->store, opened->config, options.ref, options.to, options.force,
                      [](const std::string& file) { progress_line("pulling " + file); });
    seconds = ticker.seconds();
    return pulled;
  }();
  if (!result)
    return report(result.error());
  uint64_t received = opened->store->bytes_received();
  const auto& r = result->resolved;
  if (options.json) {
    print_json({{"name", r.name},
                {"version", r.version},
                {"resolved_by", r.how},
                {"revoked", r.revoked},
                {"signed_by", result->keyid.empty() ? json(nullptr) : json(result->keyid)},
                {"files", result->files},
                {"size", result->size},
                {"received_bytes", received},
                {"seconds", seconds},
                {"to", options.to}});
    return 0;
  }
  std::printf("pulled %s@%s (%s) into %s: %zu files, %s (%s received, %s/s), every chunk and "
              "file checked\n",
              r.name.c_str(), r.version.c_str(), r.how.c_str(), options.to.c_str(), result->files,
              util::format_bytes(result->size).c_str(),
              util::format_bytes(static_cast<double>(received)).c_str(),
              util::format_bytes(static_cast<double>(received) / std::max(seconds, 1e-3)).c_str());
  std::printf("%s\n", result->keyid.empty() ? "signature not checked (no public key configured)"
                                            : ("signature valid, by " + result->keyid).c_str());
  if (r.revoked)
    std::printf("warning: this version is revoked: %s\n", r.revoked_reason.c_str());
  return 0;
}

} // namespace

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

} // namespace kiln::cli
