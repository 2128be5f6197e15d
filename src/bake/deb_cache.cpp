#include "bake/deb_cache.hpp"

#include "util/fs.hpp"
#include "util/hash.hpp"

#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln::bake {

namespace fs = std::filesystem;

namespace {

constexpr const char* kSums = "SHA256SUMS";

// The record, in sha256sum's format so that `sha256sum -c` can check it by hand.
std::map<std::string, std::string> read_sums(const fs::path& file)
{
  std::map<std::string, std::string> sums;
  std::ifstream in(file);
  std::string sha, name;
  while (in >> sha >> name)
    sums[name] = sha;
  return sums;
}

Status write_sums(const fs::path& file, const std::map<std::string, std::string>& sums)
{
  std::ostringstream out;
  for (const auto& [name, sha] : sums)
    out << sha << "  " << name << "\n";
  return util::write_file_atomic(file, out.str());
}

std::vector<std::string> deb_files(const fs::path& dir)
{
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.size() > 4 && name.substr(name.size() - 4) == ".deb")
      names.push_back(name);
  }
  return names;
}

// Copies FILE to DEST under a temporary name first, so that DEST is whole or absent.
bool copy_in(const fs::path& file, const fs::path& dest)
{
  fs::path partial = dest;
  partial += ".partial";
  std::error_code ec;
  fs::copy_file(file, partial, fs::copy_options::overwrite_existing, ec);
  if (!ec && ::rename(partial.c_str(), dest.c_str()) == 0)
    return true;
  fs::remove(partial, ec);
  return false;
}

} // namespace

// The name apt gives a downloaded package: PACKAGE_VERSION_ARCH.deb, with the epoch's ':' written
// as %3a (the pool file name in the index has no epoch at all).
std::string archive_name(const std::string& package, std::string version, const std::string& arch)
{
  for (size_t at = version.find(':'); at != std::string::npos; at = version.find(':', at))
    version.replace(at, 1, "%3a");
  return package + "_" + version + "_" + arch + ".deb";
}

std::map<std::string, std::string> index_sha256(const std::vector<fs::path>& lists,
                                                const std::set<std::string>& wanted)
{
  std::map<std::string, std::string> found;
  for (const auto& dir : lists) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (entry.path().filename().string().find("_Packages") == std::string::npos)
        continue;
      std::ifstream in(entry.path());
      std::string line, package, version, arch, sha;
      auto finish = [&] {
        std::string name = archive_name(package, version, arch);
        if (!sha.empty() && wanted.count(name) && !found.count(name))
          found[name] = sha;
        package.clear();
        version.clear();
        arch.clear();
        sha.clear();
      };
      while (std::getline(in, line)) {
        if (line.empty())
          finish();
        else if (line.rfind("Package: ", 0) == 0)
          package = line.substr(9);
        else if (line.rfind("Version: ", 0) == 0)
          version = line.substr(9);
        else if (line.rfind("Architecture: ", 0) == 0)
          arch = line.substr(14);
        else if (line.rfind("SHA256: ", 0) == 0)
          sha = line.substr(8);
      }
      finish();
    }
  }
  return found;
}

Status DebCache::acquire(StepLog& log)
{
  KILN_TRY(util::make_dirs(dir_ / "partial"));
  lock_fd_ = ::open((dir_ / ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0)
    return errno_error("cannot lock", (dir_ / ".lock").string(), errno);
  ::flock(lock_fd_, LOCK_EX);
  ::utimensat(AT_FDCWD, (dir_ / kSums).c_str(), nullptr, 0); // last use: now
  auto sums = read_sums(dir_ / kSums);
  for (const auto& name : deb_files(dir_)) {
    auto recorded = sums.find(name);
    auto actual = recorded == sums.end() ? Expected<std::string>(std::string())
                                         : util::sha256_file(dir_ / name);
    if (recorded != sums.end() && actual && *actual == recorded->second)
      continue;
    log.note("package cache: removing " + name +
             (recorded == sums.end() ? " (not verified)" : " (does not match its sha256)"));
    fs::remove(dir_ / name);
  }
  return ok_status();
}

void DebCache::add_digests(std::vector<image::Package>& packages) const
{
  auto sums = read_sums(dir_ / kSums);
  for (auto& package : packages) {
    auto found = sums.find(archive_name(package.name, package.version, package.architecture));
    if (found != sums.end())
      package.sha256 = found->second;
  }
}

Status DebCache::record_new(const std::vector<fs::path>& lists, StepLog& log)
{
  return keep_vouched(dir_, lists, log);
}

Status DebCache::adopt(const fs::path& downloaded, const std::vector<fs::path>& trusted_lists,
                       StepLog& log)
{
  return keep_vouched(downloaded, trusted_lists, log);
}

// Records (and, from another folder, copies in) each new .deb of `from` whose sha256 `lists`
// vouch for; forgets the others (removing them when they are already in the cache's folder).
Status DebCache::keep_vouched(const fs::path& from, const std::vector<fs::path>& lists,
                              StepLog& log)
{
  bool in_place = from == dir_;
  auto sums = read_sums(dir_ / kSums);
  std::set<std::string> fresh;
  for (const auto& name : deb_files(from)) {
    if (!sums.count(name))
      fresh.insert(name);
  }
  if (fresh.empty())
    return ok_status();
  auto index = index_sha256(lists, fresh);
  size_t kept = 0;
  for (const auto& name : fresh) {
    fs::path file = from / name;
    struct stat st {};
    auto actual = ::lstat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode)
                      ? util::sha256_file(file)
                      : Expected<std::string>(std::string());
    auto expected = index.find(name);
    bool vouched = actual && expected != index.end() && *actual == expected->second;
    if (!vouched || (!in_place && !copy_in(file, dir_ / name))) {
      log.note("package cache: not keeping " + name +
               " (no package index kiln verified vouches for it)");
      if (in_place)
        fs::remove(file);
      continue;
    }
    sums[name] = *actual;
    ++kept;
  }
  log.note("package cache: kept " + std::to_string(kept) + " new packages");
  return write_sums(dir_ / kSums, sums);
}

void DebCache::release()
{
  if (lock_fd_ >= 0)
    ::close(lock_fd_);
  lock_fd_ = -1;
}

} // namespace kiln::bake
