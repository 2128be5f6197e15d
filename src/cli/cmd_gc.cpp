#include "cli/commands.hpp"
#include "cli/release_options.hpp"
#include "release/gc.hpp"
#include "util/strings.hpp"

#include <cstdio>

namespace kiln::cli {

using nlohmann::json;

namespace {

struct GcOptions : ReleaseOptions {
  bool dry_run = false;
  bool force = false;
  int keep_newest = -1;
  std::string keep_younger_than;
};

int run_gc(const GcOptions& options)
{
  auto opened = open_release(options);
  if (!opened)
    return report(opened.error());
  release::Retention retention = opened->config.retention;
  if (options.keep_newest >= 0)
    retention.keep_newest = options.keep_newest;
  if (!options.keep_younger_than.empty()) {
    auto seconds = duration_option("--keep-younger-than", options.keep_younger_than);
    if (!seconds)
      return report(seconds.error());
    retention.keep_younger_than = *seconds;
  }
  auto result = release::gc(*opened->store, retention, options.dry_run, options.force);
  if (!result)
    return report(result.error());
  if (options.json) {
    print_json({{"dry_run", result->dry_run},
                {"versions", result->versions},
                {"kept_versions", result->kept_versions},
                {"cache_layers", result->cache_layers},
                {"kept_cache_layers", result->kept_cache_layers},
                {"chunks", result->blobs},
                {"chunk_bytes", result->blob_bytes},
                {"litter", result->litter}});
    return 0;
  }
  const char* verb = result->dry_run ? "would remove" : "removed";
  for (const auto& version : result->versions)
    std::printf("%s %s\n", verb, version.c_str());
  std::printf("%s %zu versions (%zu kept), %zu chunks no version needs (%s), %zu files of "
              "interrupted publishes\n",
              verb, result->versions.size(), result->kept_versions, result->blobs,
              util::format_bytes(result->blob_bytes).c_str(), result->litter);
  if (!result->cache_layers.empty() || result->kept_cache_layers > 0)
    std::printf("%s %zu shared cache layers older than the age kept (%zu kept)\n", verb,
                result->cache_layers.size(), result->kept_cache_layers);
  return 0;
}

} // namespace

Command add_gc(CLI::App& app)
{
  auto options = std::make_shared<GcOptions>();
  auto* sub = app.add_subcommand("gc", "Remove old versions and the chunks nothing needs");
  sub->add_flag("--dry-run", options->dry_run, "List what would go; change nothing");
  sub->add_flag("--force", options->force,
                "Run even when the index lost versions it listed (every chunk it does not "
                "list goes)");
  sub->add_option("--keep-newest", options->keep_newest,
                  "Versions to keep per image (default 5, or retention.keep_newest)");
  sub->add_option("--keep-younger-than", options->keep_younger_than,
                  "Keep versions published more recently, and shared cache layers uploaded "
                  "more recently (default 14d)");
  add_release_options(sub, *options, Keys::none);
  sub->footer(R"(Keeps every version a channel points to, the newest N per image and those
younger than the age; removes the rest, then the chunks no remaining version refers to, then the
files interrupted publishes left. Publishes wait while gc runs, and gc waits for them.

Examples:
  kiln gc --dry-run
  kiln gc --keep-newest 3 --keep-younger-than 30d --json)");
  return {sub, [options] { return run_gc(*options); }};
}

} // namespace kiln::cli
