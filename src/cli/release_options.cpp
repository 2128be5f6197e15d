#include "cli/release_options.hpp"

#include "config/settings.hpp"
#include "util/strings.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>
#include <unistd.h>

namespace kiln::cli {

namespace {
bool show_progress = false; // KILN_PROGRESS, from the settings open_release loaded
} // namespace

void add_release_options(CLI::App* sub, ReleaseOptions& options, Keys keys)
{
  sub->add_option("--store", options.store,
                  "The store: a folder, file:// URL or s3://BUCKET/PREFIX (default: KILN_STORE, "
                  "or kiln.yaml)");
  sub->add_option("--endpoint", options.endpoint,
                  "An S3-compatible server for an s3:// store, e.g. http://minio:9000 (default: "
                  "KILN_S3_ENDPOINT, s3.endpoint in kiln.yaml; none: AWS)");
  sub->add_option("--profile", options.profile,
                  "The AWS profile for an s3:// store (default: AWS_PROFILE, s3.profile)");
  sub->add_option(
      "--config", options.config,
      "The repository's settings file: store, keys, channels, retention (default: ./kiln.yaml)");
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
  auto settings = config::load({options.config,
                                {{"store", options.store, "--store"},
                                 {"signing.key", options.signing_key, "--key"},
                                 {"signing.public_key", options.public_key, "--public-key"},
                                 {"s3.endpoint", options.endpoint, "--endpoint"},
                                 {"s3.profile", options.profile, "--profile"}}});
  if (!settings)
    return std::move(settings).error();
  show_progress = settings->progress;
  auto location = release::store_location(settings->release);
  if (!location)
    return std::move(location).error();
  auto store = store::open_store(*location, mode, settings->remote);
  if (!store)
    return std::move(store).error();
  return OpenedStore{std::move(settings->release),
                     std::make_unique<store::MeteredStore>(std::move(*store))};
}

void print_json(const nlohmann::json& value)
{
  std::printf("%s\n", value.dump(2).c_str());
}

void progress_line(const std::string& text)
{
  if (show_progress || ::isatty(STDERR_FILENO))
    std::fprintf(stderr, "  %s\n", text.c_str());
}

struct TransferTicker::State {
  State(const store::MeteredStore& metered, bool send) : store(metered), sending(send) {}
  const store::MeteredStore& store;
  bool sending;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;
  std::thread thread;

  uint64_t bytes() const { return sending ? store.bytes_sent() : store.bytes_received(); }
  void run()
  {
    std::unique_lock lock(mutex);
    while (!wake.wait_for(lock, std::chrono::seconds(2), [this] { return stopping; })) {
      double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      double done = static_cast<double>(bytes());
      progress_line(std::string(sending ? "sent " : "received ") + util::format_bytes(done) + ", " +
                    util::format_bytes(done / seconds) + "/s");
    }
  }
};

TransferTicker::TransferTicker(const store::MeteredStore& store, bool sending)
    : state_(std::make_unique<State>(store, sending))
{
  state_->thread = std::thread([this] { state_->run(); });
}

TransferTicker::~TransferTicker()
{
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
  }
  state_->wake.notify_all();
  state_->thread.join();
}

double TransferTicker::seconds() const
{
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - state_->start).count();
}

} // namespace kiln::cli
