#include "bake/builder.hpp"
#include "bake/cache_admin.hpp"
#include "cli/commands.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

namespace kiln::cli {

namespace {

struct CacheOptions {
  std::string cache_dir;
  bool json = false;
  std::string max_size;
  std::string older_than;
  bool dry_run = false;
};

Expected<std::filesystem::path> cache_dir(const CacheOptions& options)
{
  auto settings = load_settings({{"cache.dir", options.cache_dir, "--cache-dir"}});
  if (!settings)
    return std::move(settings).error();
  return settings->cache_dir;
}

std::string age(int64_t when)
{
  if (when <= 0)
    return "-";
  return util::format_duration(static_cast<double>(std::time(nullptr) - when)) + " ago";
}

int run_ls(const CacheOptions& options)
{
  auto dir = cache_dir(options);
  if (!dir)
    return report(dir.error());
  auto entries = bake::list_cache(*dir);
  if (!entries)
    return report(entries.error());
  if (options.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : *entries) {
      out.push_back({{"key", e.key},
                     {"kind", e.kind},
                     {"image", e.image},
                     {"step", e.step},
                     {"size", e.size},
                     {"created", e.created},
                     {"last_used", e.last_used},
                     {"in_use", e.in_use}});
    }
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  uint64_t total = 0;
  std::printf("%-12s  %-7s  %-20s  %-20s  %10s  %s\n", "KEY", "KIND", "IMAGE", "STEP", "SIZE",
              "LAST USED");
  for (const auto& e : *entries) {
    total += e.size;
    std::printf("%-12s  %-7s  %-20s  %-20s  %10s  %s%s\n", e.key.substr(0, 12).c_str(),
                e.kind.c_str(), e.image.c_str(), e.step.c_str(),
                util::format_bytes(static_cast<double>(e.size)).c_str(), age(e.last_used).c_str(),
                e.in_use ? " (in use)" : "");
  }
  std::printf("%zu entries, %s in %s\n", entries->size(),
              util::format_bytes(static_cast<double>(total)).c_str(), dir->c_str());
  return 0;
}

int run_prune(const CacheOptions& options)
{
  bake::PruneLimits limits;
  if (!options.max_size.empty()) {
    auto size = size_option("--max-size", options.max_size);
    if (!size)
      return report(size.error());
    limits.max_size = *size;
  }
  if (!options.older_than.empty()) {
    auto seconds = duration_option("--older-than", options.older_than);
    if (!seconds)
      return report(seconds.error());
    limits.older_than = *seconds;
  }
  if (!limits.max_size && !limits.older_than)
    return report(make_error(ExitCode::usage, "kiln cache prune needs --max-size or --older-than",
                             "e.g. kiln cache prune --max-size 20G"));
  auto dir = cache_dir(options);
  if (!dir)
    return report(dir.error());
  auto result = bake::prune_cache(*dir, limits, options.dry_run);
  if (!result)
    return report(result.error());
  for (const auto& e : result->removed) {
    std::printf("%s %s %s/%s (%s)\n", options.dry_run ? "would remove" : "removed", e.kind.c_str(),
                e.image.c_str(), e.step.c_str(),
                util::format_bytes(static_cast<double>(e.size)).c_str());
  }
  for (const auto& e : result->skipped_in_use)
    std::printf("kept %s %s/%s: in use by a running build\n", e.kind.c_str(), e.image.c_str(),
                e.step.c_str());
  std::printf("%s %s; %s left\n", options.dry_run ? "would free" : "freed",
              util::format_bytes(static_cast<double>(result->freed)).c_str(),
              util::format_bytes(static_cast<double>(result->left)).c_str());
  return 0;
}

} // namespace

Command add_cache(CLI::App& app)
{
  auto options = std::make_shared<CacheOptions>();
  auto* sub = app.add_subcommand("cache", "List or prune the layer cache");
  sub->require_subcommand(1);
  auto* ls = sub->add_subcommand("ls", "List cached layers and exports, newest use first");
  auto* prune = sub->add_subcommand("prune", "Remove cache entries by size or age");
  for (auto* command : {ls, prune}) {
    command->add_option("--cache-dir", options->cache_dir,
                        "The cache (default: $KILN_CACHE_DIR or /var/cache/kiln)");
  }
  ls->add_flag("--json", options->json, "Print the entries as JSON");
  prune->add_option("--max-size", options->max_size,
                    "Remove least recently used entries until the cache is this small (e.g. 20G)");
  prune->add_option("--older-than", options->older_than,
                    "Remove entries not used for this long (e.g. 7d, 12h)");
  prune->add_flag("--dry-run", options->dry_run, "Only list what would be removed");
  sub->footer(R"(Entries a running build uses are never removed.

Examples:
  kiln cache ls
  kiln cache prune --older-than 14d
  kiln cache prune --max-size 20G --dry-run)");
  return {sub, [options, ls] { return ls->parsed() ? run_ls(*options) : run_prune(*options); }};
}

} // namespace kiln::cli
