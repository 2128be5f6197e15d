#include "cloud/retry.hpp"

#include "util/interrupt.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <thread>

namespace kiln::cloud {

bool worth_retrying(const util::HttpResponse& response)
{
  switch (response.status) {
  case 0:   // no answer: refused, reset, timed out
  case 429: // too many requests
  case 500:
  case 502:
  case 503: // S3's SlowDown
  case 504:
    return true;
  case 400: // S3 closes a slow upload with RequestTimeout
    return response.body.find("<Code>RequestTimeout</Code>") != std::string::npos;
  default:
    return false;
  }
}

double wait_bound(const RetryPolicy& policy, int attempt)
{
  return std::min(policy.longest_wait, policy.first_wait * std::pow(2.0, attempt - 1));
}

Expected<util::HttpResponse>
send_with_retries(const std::function<util::HttpRequest()>& make, const RetryPolicy& policy,
                  bool idempotent, const std::function<void(const std::string&)>& on_retry)
{
  thread_local std::mt19937 random(std::random_device{}());
  int attempts = idempotent ? std::max(1, policy.attempts) : 1;
  for (int attempt = 1;; ++attempt) {
    auto response = util::http_attempt(make());
    if (!response)
      return response; // interrupted, or a reply too large to be one
    if (attempt >= attempts || !worth_retrying(*response))
      return response;
    double bound = wait_bound(policy, attempt);
    double wait = std::uniform_real_distribution<double>(0, bound)(random);
    if (on_retry)
      on_retry((response->status ? "HTTP " + std::to_string(response->status)
                                 : response->transport_failure) +
               "; attempt " + std::to_string(attempt + 1) + " of " + std::to_string(attempts));
    auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(wait);
    while (std::chrono::steady_clock::now() < until) {
      if (util::interrupt_signal() != 0)
        return make_error(ExitCode::interrupted, "interrupted while waiting to retry");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

} // namespace kiln::cloud
