#include "sandbox/child_report.hpp"

#include <cerrno>
#include <sys/mman.h>
#include <unistd.h>

namespace kiln::sandbox {

using nlohmann::json;

Expected<ChildReport> ChildReport::open()
{
  int fd = ::memfd_create("kiln-child-report", MFD_CLOEXEC);
  if (fd < 0)
    return errno_error("cannot create", "a memory file for a child's report", errno);
  return ChildReport(fd);
}

ChildReport::~ChildReport()
{
  if (fd_ >= 0)
    ::close(fd_);
}

bool ChildReport::write_all(const std::string& text) const
{
  size_t done = 0;
  while (done < text.size()) {
    ssize_t wrote = ::pwrite(fd_, text.data() + done, text.size() - done, off_t(done));
    if (wrote < 0 && errno == EINTR)
      continue;
    if (wrote <= 0)
      return false;
    done += static_cast<size_t>(wrote);
  }
  return true;
}

int ChildReport::send(const json& result) const
{
  return write_all(json{{"result", result}}.dump()) ? 0 : 1;
}

int ChildReport::fail(const Error& error) const
{
  (void)write_all(json{
      {"error",
       {{"code", static_cast<int>(error.code)}, {"message", error.message}, {"hint", error.hint}}}}
                      .dump());
  return 1;
}

Expected<json> ChildReport::receive(const Expected<util::ProcessResult>& ended,
                                    const std::string& what) const
{
  if (!ended)
    return ended.error();
  if (ended->interrupted_by != 0)
    return make_error(ExitCode::interrupted, what + " interrupted");
  std::string text;
  char buffer[65536];
  off_t offset = 0;
  ssize_t got;
  while (text.size() <= kMaxBytes && (got = ::pread(fd_, buffer, sizeof buffer, offset)) > 0) {
    text.append(buffer, static_cast<size_t>(got));
    offset += got;
  }
  if (text.size() > kMaxBytes)
    return make_error(ExitCode::build_failed,
                      what + " sent a report of more than " + std::to_string(kMaxBytes) + " bytes");
  json report = json::parse(text, nullptr, false);
  if (report.is_object() && report.contains("error") && report["error"].is_object()) {
    const json& e = report["error"];
    int code = e.value("code", 1);
    bool known = (code >= 1 && code <= 6) || code == static_cast<int>(ExitCode::interrupted);
    return make_error(known ? static_cast<ExitCode>(code) : ExitCode::build_failed,
                      e.value("message", what + " failed"), e.value("hint", ""));
  }
  if (!ended->success())
    return make_error(ExitCode::build_failed, what + " ended with " + ended->describe());
  if (!report.is_object() || !report.contains("result"))
    return make_error(ExitCode::build_failed, what + " ended without saying how it went");
  return report["result"];
}

} // namespace kiln::sandbox
