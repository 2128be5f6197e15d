// Running one task per index on a few threads, for I/O-bound work such as parallel requests.
#pragma once

#include "util/error.hpp"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace kiln::util {

// Calls task(i) for every i below n on at most `threads` threads; the first failure stops the
// tasks not yet started and is returned.
inline Status parallel_for(size_t n, size_t threads, const std::function<Status(size_t)>& task)
{
  std::atomic<size_t> next = 0;
  std::atomic<bool> failed = false;
  std::optional<Error> first;
  std::mutex mutex;
  auto work = [&] {
    for (size_t i; !failed && (i = next++) < n;) {
      Status status = task(i);
      if (!status) {
        std::lock_guard lock(mutex);
        if (!first)
          first = status.error();
        failed = true;
      }
    }
  };
  size_t count = std::min(n, std::max<size_t>(threads, 1));
  if (count <= 1) {
    work();
  } else {
    std::vector<std::thread> workers;
    for (size_t t = 0; t < count; ++t)
      workers.emplace_back(work);
    for (auto& worker : workers)
      worker.join();
  }
  if (first)
    return *first;
  return ok_status();
}

} // namespace kiln::util
