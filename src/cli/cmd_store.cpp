#include "cli/commands.hpp"
#include "cli/release_options.hpp"
#include "release/fsck.hpp"
#include "store/chunks.hpp"
#include "util/strings.hpp"

#include <chrono>
#include <cstdio>

namespace kiln::cli {

using nlohmann::json;

namespace {

int run_fsck(const ReleaseOptions& options)
{
  auto opened = open_release(options);
  if (!opened)
    return report(opened.error());
  auto result = release::fsck(*opened->store, opened->config);
  if (!result)
    return report(result.error());
  if (options.json) {
    print_json({{"versions", result->versions},
                {"chunks", result->blobs},
                {"chunk_bytes", result->blob_bytes},
                {"channels", result->channels},
                {"cache_layers", result->cache_layers},
                {"problems", result->problems},
                {"notes", result->notes}});
  } else {
    for (const auto& problem : result->problems)
      std::printf("problem: %s\n", problem.c_str());
    for (const auto& note : result->notes)
      std::printf("note: %s\n", note.c_str());
    std::string layers = result->cache_layers == 0
                             ? ""
                             : ", " + std::to_string(result->cache_layers) + " shared cache layers";
    std::printf("checked %zu chunks (%s), %zu versions, %zu channels%s: %s\n", result->blobs,
                util::format_bytes(result->blob_bytes).c_str(), result->versions, result->channels,
                layers.c_str(),
                result->problems.empty()
                    ? "no problems"
                    : (std::to_string(result->problems.size()) + " problems").c_str());
  }
  return result->problems.empty() ? 0 : static_cast<int>(ExitCode::input);
}

struct PutOptions : ReleaseOptions {
  std::string file;
  bool zstd = false;
};

int run_put(const PutOptions& options)
{
  auto opened = open_release(options, store::OpenMode::create);
  if (!opened)
    return report(opened.error());
  auto lock = opened->store->lock(store::Access::shared); // as a publish does
  if (!lock)
    return report(lock.error());
  auto start = std::chrono::steady_clock::now();
  auto stored = store::put_file(*opened->store, options.file,
                                options.zstd ? store::Encoding::zstd : store::Encoding::raw);
  if (!stored)
    return report(stored.error());
  if (Status synced = opened->store->sync(); !synced)
    return report(synced.error());
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  json out = {{"file", options.file},
              {"sha256", stored->sha256},
              {"content_size", stored->content_size},
              {"chunks", stored->chunks.size()},
              {"new_chunks", stored->new_blobs},
              {"stored_bytes", stored->new_blob_bytes},
              {"seconds", seconds},
              {"mib_per_second", stored->content_size / 1048576.0 / seconds}};
  if (options.json)
    print_json(out);
  else
    std::printf("%s: %zu chunks, %llu new, %s stored of %s, %.2f s (%.0f MiB/s)\n",
                options.file.c_str(), stored->chunks.size(),
                static_cast<unsigned long long>(stored->new_blobs),
                util::format_bytes(static_cast<double>(stored->new_blob_bytes)).c_str(),
                util::format_bytes(static_cast<double>(stored->content_size)).c_str(), seconds,
                out["mib_per_second"].get<double>());
  return 0;
}

int run_init(const ReleaseOptions& options)
{
  auto opened = open_release(options, store::OpenMode::create);
  if (!opened)
    return report(opened.error());
  auto location = release::store_location(opened->config);
  std::string where = location ? *location : options.store;
  if (options.json)
    print_json({{"store", where}});
  else
    std::printf("a kiln store is ready at %s\n", where.c_str());
  return 0;
}

} // namespace

Command add_store(CLI::App& app)
{
  auto* sub = app.add_subcommand("store", "Create or check the store, or add one file's chunks");
  sub->require_subcommand(1);
  auto init_options = std::make_shared<ReleaseOptions>();
  auto* init = sub->add_subcommand("init", "Create an empty store (publish creates one too)");
  add_release_options(init, *init_options, Keys::none);
  auto fsck_options = std::make_shared<ReleaseOptions>();
  auto* fsck = sub->add_subcommand("fsck", "Check every chunk, version and channel; change "
                                           "nothing");
  add_release_options(fsck, *fsck_options, Keys::public_key);
  auto put_options = std::make_shared<PutOptions>();
  auto* put = sub->add_subcommand("put", "Store one file's chunks and print what it took");
  put->add_option("file", put_options->file, "The file (a rootfs tar, say)")->required();
  put->add_flag("--zstd", put_options->zstd, "The file is zstd-compressed: store its content");
  add_release_options(put, *put_options, Keys::none);
  sub->footer(R"(init creates an empty store at the location, or leaves an existing one as it is.
Every other command that reads a store refuses a location where there is none.

fsck decompresses and hashes every chunk, checks that every version is readable
(and signed, with a public key) and has every chunk it needs, and that every channel points at a
published version. Exit 0 when clean, 4 when it found problems; each problem names its object.

put splits a file into chunks and stores the new ones, printing the chunk count, the new bytes
and the throughput; no version refers to them, so the next gc removes them.

Examples:
  kiln store init --store /srv/kiln-store
  kiln store fsck --store /srv/kiln-store --public-key release.pub
  kiln store put rootfs.tar --store /tmp/scratch-store --json)");
  return {sub, [init, init_options, fsck, fsck_options, put_options] {
            if (init->parsed())
              return run_init(*init_options);
            if (fsck->parsed())
              return run_fsck(*fsck_options);
            return run_put(*put_options);
          }};
}

} // namespace kiln::cli
