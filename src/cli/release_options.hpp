// The options every store command shares (--store, --config, the keys, --json) and opening the
// store they name.
#pragma once

#include "release/config.hpp"
#include "store/metered.hpp"
#include "store/open.hpp"

#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace kiln::cli {

struct ReleaseOptions {
  std::string store, config, signing_key, public_key, endpoint, profile;
  bool json = false;
};

enum class Keys { none, signing, public_key };

void add_release_options(CLI::App* sub, ReleaseOptions& options, Keys keys);

struct OpenedStore {
  release::ReleaseConfig config;
  std::unique_ptr<store::MeteredStore> store; // counts the bytes sent and received
};

// The settings (config::load: the files, the environment, then the flags); then the store, which
// must exist unless `mode` says the command may create it.
Expected<OpenedStore> open_release(const ReleaseOptions& options,
                                   store::OpenMode mode = store::OpenMode::existing);

// Prints JSON to stdout, indented.
void print_json(const nlohmann::json& value);

// A line of progress on stderr, when stderr is a terminal or KILN_PROGRESS=1.
void progress_line(const std::string& text);

// While it lives, a progress line every two seconds with the bytes sent to (or received from)
// the store and the rate: "sent 120.4 MiB, 48.2 MiB/s".
class TransferTicker {
public:
  TransferTicker(const store::MeteredStore& store, bool sending);
  ~TransferTicker();
  double seconds() const;

private:
  struct State;
  std::unique_ptr<State> state_;
};

} // namespace kiln::cli
