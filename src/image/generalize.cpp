#include "image/generalize.hpp"

#include "util/fs.hpp"

#include <algorithm>
#include <fnmatch.h>
#include <optional>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln::image {

namespace fs = std::filesystem;

namespace {

// localhost: the file is replaced by "localhost": /etc/hostname, which mmdebstrap copies from
// the build host (a name that says where the image was built, and differs from host to host);
// cloud-init names the machine at boot.
enum class Action { remove, truncate, localhost };

struct Rule {
  const char* dir;     // relative to the tree; "home/*" means every folder below home
  const char* pattern; // fnmatch pattern for entry names
  Action action;
  bool recursive = false; // also match in every folder below dir
};

// The order matters: rotated logs go before the remaining logs are emptied.
const Rule kRules[] = {
    {"etc", "machine-id", Action::truncate},
    {"etc", "hostname", Action::localhost},
    {"var/lib/dbus", "machine-id", Action::remove},
    {"etc/ssh", "ssh_host_*", Action::remove},
    {"var/log", "*.[0-9]", Action::remove, true},
    {"var/log", "*.gz", Action::remove, true},
    {"var/log", "*.old", Action::remove, true},
    {"var/log", "*", Action::truncate, true},
    {"var/lib/apt/lists", "*_*", Action::remove},
    {"var/lib/apt/lists/partial", "*", Action::remove},
    {"var/cache/apt", "*.bin", Action::remove},
    {"var/cache/apt/archives", "*.deb", Action::remove},
    {"var/cache/apt/archives/partial", "*", Action::remove},
    {"root", ".*_history", Action::remove},
    {"root", ".lesshst", Action::remove},
    {"home/*", ".*_history", Action::remove},
    {"home/*", ".lesshst", Action::remove},
    {"tmp", "*", Action::remove},
    {"var/tmp", "*", Action::remove},
    {"etc", "*-", Action::remove},
    {"var/cache/ldconfig", "aux-cache", Action::remove},
    {"var/lib/systemd", "random-seed", Action::remove},
    {"var/lib/dhcp", "*.leases", Action::remove},
    // cloud-init's state: the first boot of every machine made from the image is a first boot.
    {"var/lib/cloud", "instance", Action::remove},
    {"var/lib/cloud", "instances", Action::remove},
    {"var/lib/cloud", "data", Action::remove},
    {"var/lib/cloud", "sem", Action::remove},
    {"var/lib/cloud", "handlers", Action::remove},
};

// The folder TREE/REL when every component of it is a real folder (no links), else nullopt.
std::optional<fs::path> real_dir(const fs::path& tree, const fs::path& rel)
{
  fs::path current = tree;
  for (const auto& part : rel) {
    current /= part;
    struct stat st {};
    if (::lstat(current.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      return std::nullopt;
  }
  return current;
}

std::vector<fs::path> expand_dirs(const fs::path& tree, const std::string& dir)
{
  std::vector<fs::path> dirs;
  size_t star = dir.find("/*");
  if (star == std::string::npos) {
    if (auto found = real_dir(tree, dir))
      dirs.push_back(*found);
    return dirs;
  }
  auto parent = real_dir(tree, dir.substr(0, star));
  if (!parent)
    return dirs;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(*parent, ec)) {
    if (entry.is_directory() && !entry.is_symlink())
      dirs.push_back(entry.path());
  }
  return dirs;
}

std::vector<fs::path> matching_entries(const fs::path& dir, const Rule& rule)
{
  std::vector<fs::path> found;
  std::error_code ec;
  auto consider = [&](const fs::directory_entry& entry) {
    if (::fnmatch(rule.pattern, entry.path().filename().c_str(), FNM_PERIOD) == 0)
      found.push_back(entry.path());
  };
  if (rule.recursive) {
    for (const auto& entry : fs::recursive_directory_iterator(dir, ec))
      consider(entry);
  } else {
    for (const auto& entry : fs::directory_iterator(dir, ec))
      consider(entry);
  }
  std::sort(found.begin(), found.end());
  return found;
}

Status apply(const fs::path& tree, const Rule& rule, const fs::path& path, GeneralizeReport& report)
{
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0)
    return ok_status(); // already gone with its folder
  std::string rel = path.lexically_relative(tree).string();
  std::error_code ec;
  if (rule.action == Action::localhost) {
    if (!S_ISREG(st.st_mode))
      return ok_status();
    auto text = util::read_file_bounded(path, 4096, "a host name");
    if (text && *text == "localhost\n")
      return ok_status();
    KILN_TRY(util::write_file_atomic(path, "localhost\n", st.st_mode & 07777));
    report.replaced.push_back(rel);
    return ok_status();
  }
  if (rule.action == Action::truncate) {
    if (!S_ISREG(st.st_mode) || st.st_size == 0)
      return ok_status();
    if (::truncate(path.c_str(), 0) != 0)
      return errno_error("cannot empty", path.string(), errno);
    report.truncated.push_back(rel);
    return ok_status();
  }
  if (S_ISDIR(st.st_mode) && rule.recursive)
    return ok_status(); // recursive rules only remove files
  fs::remove_all(path, ec);
  if (ec)
    return errno_error("cannot remove", path.string(), ec.value());
  report.removed.push_back(rel);
  return ok_status();
}

} // namespace

Expected<GeneralizeReport> generalize(const fs::path& tree)
{
  GeneralizeReport report;
  for (const auto& rule : kRules) {
    for (const auto& dir : expand_dirs(tree, rule.dir)) {
      for (const auto& path : matching_entries(dir, rule))
        KILN_TRY(apply(tree, rule, path, report));
    }
  }
  return report;
}

} // namespace kiln::image
