// The one way kiln's own code, run in a sandboxed child (run_with_tree, run_code_in_tree,
// extract_confined), tells kiln how its work went: one JSON document, a result or an Error,
// written to a memory file kiln made before the fork and read once the child has ended. The
// child's output stays a log for people; nothing is parsed out of it. A memory file rather than
// a pipe: the child may write megabytes (an image's packages and files) while kiln waits for it.
#pragma once

#include "util/error.hpp"
#include "util/process.hpp"

#include <nlohmann/json.hpp>
#include <string>

namespace kiln::sandbox {

class ChildReport {
public:
  static Expected<ChildReport> open();
  ChildReport(ChildReport&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  ChildReport(const ChildReport&) = delete;
  ChildReport& operator=(const ChildReport&) = delete;
  ~ChildReport();

  // The child's side, once, as it ends: the result (exit 0), or what went wrong (exit 1).
  int send(const nlohmann::json& result) const;
  int fail(const Error& error) const;

  // Kiln's side, after the child ended (`ended` is how): the result it sent, or its Error with
  // its exit code; `what` names the work when the child ended without a report.
  Expected<nlohmann::json> receive(const Expected<util::ProcessResult>& ended,
                                   const std::string& what) const;

  static constexpr size_t kMaxBytes = 64 << 20;

private:
  explicit ChildReport(int fd) : fd_(fd) {}
  bool write_all(const std::string& text) const;
  int fd_ = -1;
};

} // namespace kiln::sandbox
