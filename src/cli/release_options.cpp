#include "cli/release_options.hpp"

#include <cstdio>
#include <cstdlib>
#include <unistd.h>

namespace kiln::cli {

void add_release_options(CLI::App* sub, ReleaseOptions& options, Keys keys)
{
  sub->add_option("--store", options.store,
                  "The store: a folder or file:// URL (default: KILN_STORE, or kiln.yaml)");
  sub->add_option("--config", options.config,
                  "Release settings: store, keys, channels, retention (default: ./kiln.yaml)");
  if (keys == Keys::signing)
    sub->add_option("--key", options.signing_key,
                    "Ed25519 private key to sign with (default: KILN_SIGNING_KEY, kiln.yaml)");
  if (keys == Keys::public_key)
    sub->add_option("--public-key", options.public_key,
                    "Ed25519 public key that must have signed (default: KILN_PUBLIC_KEY, "
                    "kiln.yaml)");
  sub->add_flag("--json", options.json, "Print the result as JSON");
}

Expected<OpenedStore> open_release(const ReleaseOptions& options, store::OpenMode mode)
{
  auto config = release::load_release_config(options.config);
  if (!config)
    return std::move(config).error();
  if (!options.store.empty())
    config->store = options.store;
  if (!options.signing_key.empty())
    config->signing_key = options.signing_key;
  if (!options.public_key.empty())
    config->public_key = options.public_key;
  auto location = release::store_location(*config);
  if (!location)
    return std::move(location).error();
  auto store = store::open_store(*location, mode);
  if (!store)
    return std::move(store).error();
  return OpenedStore{std::move(*config), std::move(*store)};
}

void print_json(const nlohmann::json& value)
{
  std::printf("%s\n", value.dump(2).c_str());
}

void progress_line(const std::string& text)
{
  static const bool shown = ::isatty(STDERR_FILENO) || std::getenv("KILN_PROGRESS");
  if (shown)
    std::fprintf(stderr, "  %s\n", text.c_str());
}

} // namespace kiln::cli
