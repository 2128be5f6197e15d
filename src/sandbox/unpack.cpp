#include "sandbox/unpack.hpp"

#include "sandbox/confine.hpp"
#include "sandbox/mounts.hpp"
#include "sandbox/sandbox.hpp"
#include "util/archive.hpp"
#include "util/fs.hpp"

#include <cerrno>
#include <clocale>
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

namespace kiln::sandbox {

namespace fs = std::filesystem;

namespace {

std::string enter_destination(const fs::path& dest)
{
  // Names in a pax header are UTF-8, which libarchive converts to the locale's character set: the
  // child takes one that holds them all, whatever kiln's locale is (as the tar writer does). It
  // is loaded from the host's files now, before the host's root is gone.
  std::setlocale(LC_CTYPE, "C.UTF-8");
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    return failure("make mounts private under", "/");
  if (auto error = pivot_into(dest); !error.empty())
    return error;
  return confine_process();
}

// The child's side: extracts into its root and, on failure, writes the message and the hint
// (one line each) to `report_fd` for the parent.
int extract_in_child(int archive_fd, const fs::path& archive, int strip_components, bool whole_tree,
                     int report_fd)
{
  Status done = util::extract_archive(archive_fd, archive, "/", strip_components, whole_tree);
  if (done)
    return 0;
  std::string report = done.error().message + "\n" + done.error().hint + "\n";
  ssize_t written = ::write(report_fd, report.data(), report.size());
  (void)written; // the parent reports a failure without a message as well
  return 1;
}

std::string read_report(int fd)
{
  std::string text;
  char buffer[4096];
  ssize_t got;
  while (text.size() < 65536 && (got = ::read(fd, buffer, sizeof buffer)) > 0)
    text.append(buffer, static_cast<size_t>(got));
  return text;
}

} // namespace

Status extract_confined(const fs::path& archive, const fs::path& dest, int strip_components,
                        bool whole_tree, util::ProcessObserver* observer)
{
  Fd input(::open(archive.c_str(), O_RDONLY | O_CLOEXEC));
  if (input.get() < 0)
    return errno_error("cannot open", archive.string(), errno, ExitCode::input);
  KILN_TRY(util::make_dirs(dest));
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
    return errno_error("cannot create", "a pipe", errno);
  Fd report_read(pipe_fds[0]);
  Fd report_write(pipe_fds[1]);

  util::ProcessSpec spec;
  spec.argv = {"kiln (extracting " + archive.filename().string() + ")"};
  spec.namespaces = kNamespaces | CLONE_NEWNET;
  spec.in_child = [&dest] { return enter_destination(dest); };
  spec.child_main = [&] {
    return extract_in_child(input.get(), archive, strip_components, whole_tree, report_write.get());
  };
  auto result = util::run_process(spec, observer);
  report_write.reset(); // the child has its copy; the read ends when the child does
  std::string report = read_report(report_read.get());
  if (!result)
    return std::move(result).error();
  if (result->success())
    return ok_status();
  size_t newline = report.find('\n');
  if (newline == std::string::npos)
    return make_error(ExitCode::build_failed, "cannot extract " + archive.string() +
                                                  ": the extracting process ended with " +
                                                  result->describe());
  std::string hint = report.substr(newline + 1);
  while (!hint.empty() && hint.back() == '\n')
    hint.pop_back();
  return make_error(ExitCode::input, report.substr(0, newline), hint);
}

} // namespace kiln::sandbox
