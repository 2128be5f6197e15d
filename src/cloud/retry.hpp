// Sending a request again when the answer says it may work next time: a dropped connection, a
// timeout, 500, 502, 503 (S3's SlowDown), 504, 429, S3's RequestTimeout. Only idempotent
// requests are sent again; the waits grow exponentially, each a random part of its bound ("full
// jitter"), so that many agents backing off do not come back in step.
#pragma once

#include "util/error.hpp"
#include "util/http.hpp"

#include <functional>
#include <string>

namespace kiln::cloud {

struct RetryPolicy {
  int attempts = 5;         // in all, the first one included
  double first_wait = 0.2;  // seconds: the bound of the first wait
  double longest_wait = 20; // seconds: no bound grows past this
};

// Whether an answer (status 0: none came) is worth another attempt.
bool worth_retrying(const util::HttpResponse& response);

// The bound of the wait before attempt `attempt` (1: the second request).
double wait_bound(const RetryPolicy& policy, int attempt);

// Sends `make()` (built anew each time: a signature holds its time) until an answer is not worth
// retrying, or the attempts run out; `idempotent` false sends it once. `on_retry` hears why each
// new attempt is made. The last answer is returned, status 0 with its transport_failure when none
// came; an interruption is an error.
Expected<util::HttpResponse>
send_with_retries(const std::function<util::HttpRequest()>& make, const RetryPolicy& policy,
                  bool idempotent, const std::function<void(const std::string&)>& on_retry = {});

} // namespace kiln::cloud
