#include "image/inventory.hpp"

#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <fstream>
#include <set>

namespace kiln::image {

namespace fs = std::filesystem;

namespace {

// Folders whose content is bookkeeping, not the image's substance.
const std::vector<std::string> kSkipped = {
    "var/lib/dpkg/", "var/lib/apt/", "var/cache/", "var/log/", "var/lib/ucf/", "proc/",
    "sys/",          "dev/",         "run/",       "tmp/",     "var/tmp/",     "etc/ld.so.cache"};

bool skipped(const std::string& path)
{
  if (path.find("__pycache__/") != std::string::npos)
    return true;
  return std::any_of(kSkipped.begin(), kSkipped.end(),
                     [&](const std::string& prefix) { return path.rfind(prefix, 0) == 0; });
}

// Every path the packages' file lists name, without the leading '/'. With merged /usr, a list's
// /bin/x is the tree's usr/bin/x too.
std::set<std::string> owned_paths(const fs::path& tree)
{
  std::set<std::string> owned;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(tree / "var/lib/dpkg/info", ec)) {
    if (entry.path().extension() != ".list")
      continue;
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) {
      if (line.size() < 2)
        continue;
      std::string path = line.substr(1);
      owned.insert(path);
      for (const char* merged : {"bin/", "sbin/", "lib/", "lib64/"}) {
        if (path.rfind(merged, 0) == 0)
          owned.insert("usr/" + path);
      }
    }
  }
  return owned;
}

} // namespace

std::map<std::string, std::vector<std::string>> read_account_file(const fs::path& file)
{
  std::map<std::string, std::vector<std::string>> entries;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#')
      continue;
    auto fields = util::split(line, ':');
    entries[fields[0]] = fields;
  }
  return entries;
}

std::vector<UserEntry> read_users(const fs::path& tree)
{
  std::map<std::string, std::vector<std::string>> memberships;
  for (const auto& [group, fields] : read_account_file(tree / "etc/group")) {
    if (fields.size() < 4 || fields[3].empty())
      continue;
    for (const auto& member : util::split(fields[3], ','))
      memberships[member].push_back(group);
  }
  std::vector<UserEntry> users; // sorted by name, as the file's map is
  for (const auto& [name, fields] : read_account_file(tree / "etc/passwd")) {
    if (fields.size() < 7)
      continue;
    UserEntry user{name, std::atoi(fields[2].c_str()), fields[6], fields[5], memberships[name]};
    std::sort(user.groups.begin(), user.groups.end());
    users.push_back(std::move(user));
  }
  return users;
}

nlohmann::json to_json(const UserEntry& u)
{
  return {
      {"name", u.name}, {"uid", u.uid}, {"shell", u.shell}, {"home", u.home}, {"groups", u.groups}};
}

UserEntry user_from_json(const nlohmann::json& j)
{
  return {j.at("name"), j.at("uid"), j.value("shell", ""), j.value("home", ""),
          j.value("groups", std::vector<std::string>{})};
}

Expected<std::map<std::string, std::string>> unowned_files(const fs::path& tree)
{
  std::set<std::string> owned = owned_paths(tree);
  std::map<std::string, std::string> files;
  std::error_code ec;
  fs::recursive_directory_iterator it(tree, fs::directory_options::none, ec), end;
  for (; it != end; it.increment(ec)) {
    if (ec)
      return make_error(ExitCode::build_failed,
                        "cannot list " + tree.string() + ": " + ec.message());
    std::string path = it->path().lexically_relative(tree).string();
    if (it->is_directory(ec) && !it->is_symlink(ec)) {
      if (skipped(path + "/"))
        it.disable_recursion_pending();
      continue;
    }
    if (skipped(path) || owned.count(path))
      continue;
    if (it->is_symlink(ec)) {
      files[path] = "link:" + fs::read_symlink(it->path(), ec).string();
    } else if (it->is_regular_file(ec)) {
      auto digest = util::sha256_file(it->path());
      if (!digest)
        return std::move(digest).error();
      files[path] = "sha256:" + *digest;
    }
  }
  return files;
}

} // namespace kiln::image
