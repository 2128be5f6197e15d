#include "sandbox/unpack.hpp"

#include "sandbox/child_report.hpp"
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

} // namespace

Status extract_confined(const fs::path& archive, const fs::path& dest, int strip_components,
                        bool whole_tree, util::ProcessObserver* observer)
{
  Fd input(::open(archive.c_str(), O_RDONLY | O_CLOEXEC));
  if (input.get() < 0)
    return errno_error("cannot open", archive.string(), errno, ExitCode::input);
  KILN_TRY(util::make_dirs(dest));
  auto report = ChildReport::open();
  if (!report)
    return std::move(report).error();

  util::ProcessSpec spec;
  spec.argv = {"kiln (extracting " + archive.filename().string() + ")"};
  spec.namespaces = kNamespaces | CLONE_NEWNET;
  spec.in_child = [&dest] { return enter_destination(dest); };
  spec.child_main = [&] {
    Status done = util::extract_archive(input.get(), archive, "/", strip_components, whole_tree);
    return done ? report->send(nullptr) : report->fail(done.error());
  };
  auto ended = util::run_process(spec, observer);
  auto received = report->receive(ended, "extracting " + archive.string());
  if (!received)
    return std::move(received).error();
  return ok_status();
}

} // namespace kiln::sandbox
