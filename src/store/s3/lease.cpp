#include "store/s3/lease.hpp"

#include "util/hash.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <thread>
#include <unistd.h>

namespace kiln::store::s3 {

namespace {

const char* mode_name(Access mode)
{
  return mode == Access::exclusive ? "exclusive" : "shared";
}

std::string random_hex()
{
  std::random_device device;
  std::string seed = std::to_string(device()) + std::to_string(device()) +
                     std::to_string(::getpid()) +
                     std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
  return util::sha256_hex(seed).substr(0, 16);
}

double random_pause(double longest)
{
  thread_local std::mt19937 generator{std::random_device{}()};
  return std::uniform_real_distribution<double>(longest / 10, longest)(generator);
}

std::string lease_body(Access mode)
{
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return nlohmann::json{
      {"kiln_lease", 1}, {"mode", mode_name(mode)}, {"host", host}, {"pid", ::getpid()}}
      .dump();
}

bool exclusive_key(const std::string& key, const std::string& domain)
{
  return key.compare(domain.size(), 10, "exclusive-") == 0;
}

// Holds a lease; rewrites it while held when asked; removes it when destroyed.
class Lease : public StoreLock {
public:
  Lease(cloud::S3Client& client, std::string key, std::string body, int64_t lease_seconds,
        bool renew)
      : client_(client), key_(std::move(key)), body_(std::move(body))
  {
    if (renew)
      renewer_ = std::thread([this, lease_seconds] { renew_every(lease_seconds / 4.0); });
  }
  ~Lease() override
  {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (renewer_.joinable())
      renewer_.join();
    (void)client_.remove(key_);
  }

private:
  void renew_every(double seconds)
  {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, std::chrono::duration<double>(seconds),
                           [this] { return stopping_; })) {
      lock.unlock();
      (void)client_.put(key_, body_); // a failed renewal is retried at the next one
      lock.lock();
    }
  }

  cloud::S3Client& client_;
  std::string key_, body_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread renewer_;
};

struct Seen {
  std::vector<cloud::S3Object> live, conflicting;
  std::optional<cloud::S3Object> mine; // as listed
};

// The live leases of the domain, and those that conflict with `mine`; dead ones are removed.
Expected<Seen> look(cloud::S3Client& client, const std::string& domain, const std::string& mine,
                    Access mode, int64_t lease_seconds)
{
  int64_t now = 0;
  auto objects = client.list(domain, &now);
  if (!objects)
    return std::move(objects).error();
  Seen seen;
  for (const auto& object : *objects) {
    if (object.key == mine) {
      seen.mine = object;
      continue;
    }
    if (now > 0 && now - object.last_modified > lease_seconds) {
      (void)client.remove(object.key); // its holder stopped renewing it long ago
      continue;
    }
    seen.live.push_back(object);
    if (mode == Access::exclusive || exclusive_key(object.key, domain))
      seen.conflicting.push_back(object);
  }
  return seen;
}

bool older(const cloud::S3Object& a, const cloud::S3Object& b)
{
  return a.last_modified != b.last_modified ? a.last_modified < b.last_modified : a.key < b.key;
}

std::string holders(cloud::S3Client& client, const std::vector<cloud::S3Object>& leases)
{
  std::string out;
  for (const auto& lease : leases) {
    auto body = client.get(lease.key);
    std::string who = lease.key;
    if (body && *body) {
      auto parsed = nlohmann::json::parse(**body, nullptr, false);
      if (parsed.is_object() && parsed.contains("host") && parsed["host"].is_string())
        who = parsed.value("mode", "?") + " lease of " + parsed["host"].get<std::string>() +
              " pid " + std::to_string(parsed.value("pid", 0));
    }
    out += (out.empty() ? "" : "; ") + who;
  }
  return out;
}

} // namespace

Expected<std::unique_ptr<StoreLock>> take_lease(cloud::S3Client& client, const std::string& domain,
                                                Access mode, bool renew,
                                                const LeaseSettings& settings)
{
  auto started = std::chrono::steady_clock::now();
  auto waited = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  std::string body = lease_body(mode);
  for (;;) {
    std::string key = domain + mode_name(mode) + "-" + random_hex();
    KILN_TRY(client.put(key, body));
    std::vector<cloud::S3Object> in_the_way;
    for (;;) {
      auto seen = look(client, domain, key, mode, settings.lease_seconds);
      if (!seen) {
        (void)client.remove(key);
        return std::move(seen).error();
      }
      if (!seen->mine) { // not listed yet: only a listing that shows it counts
        std::this_thread::sleep_for(std::chrono::duration<double>(settings.longest_pause / 10));
        continue;
      }
      if (seen->conflicting.empty())
        return std::unique_ptr<StoreLock>(
            new Lease(client, key, body, settings.lease_seconds, renew));
      in_the_way = seen->conflicting;
      // The oldest of the contenders keeps its lease and looks again; the others step back.
      bool oldest = std::none_of(in_the_way.begin(), in_the_way.end(),
                                 [&](const auto& other) { return older(other, *seen->mine); });
      if (waited() > settings.wait_limit)
        break;
      if (!oldest)
        break;
      std::this_thread::sleep_for(
          std::chrono::duration<double>(random_pause(settings.longest_pause)));
    }
    (void)client.remove(key);
    if (waited() > settings.wait_limit)
      return make_error(ExitCode::input,
                        client.name(domain) + ": still locked after " +
                            std::to_string(static_cast<int>(waited())) + " s by " +
                            holders(client, in_the_way),
                        "a gc or publish is running elsewhere; a lease whose holder died expires "
                        "after " +
                            std::to_string(settings.lease_seconds) + " s");
    std::this_thread::sleep_for(
        std::chrono::duration<double>(random_pause(settings.longest_pause)));
  }
}

} // namespace kiln::store::s3
