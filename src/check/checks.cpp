#include "check/checks.hpp"

#include "image/debversion.hpp"
#include "image/dpkg.hpp"
#include "image/inventory.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <sys/stat.h>

namespace kiln::check {

namespace fs = std::filesystem;

namespace {

Outcome pass(std::string expected)
{
  return {true, std::move(expected), ""};
}

Outcome fail(std::string expected, std::string actual)
{
  return {false, std::move(expected), std::move(actual)};
}

// The name for a numeric id in /etc/passwd or /etc/group, or the number itself.
std::string name_of(const fs::path& database, unsigned id)
{
  for (const auto& [name, fields] : image::read_account_file(database)) {
    if (fields.size() > 2 && fields[2] == std::to_string(id))
      return name;
  }
  return std::to_string(id);
}

std::string type_of(const struct stat& st)
{
  if (S_ISLNK(st.st_mode))
    return "link";
  if (S_ISDIR(st.st_mode))
    return "directory";
  if (S_ISREG(st.st_mode))
    return "file";
  return "special file";
}

std::string octal(unsigned mode)
{
  char text[8];
  std::snprintf(text, sizeof text, "%04o", mode & 07777);
  return text;
}

bool search(const std::string& regex, const std::string& text)
{
  return std::regex_search(text, std::regex(regex, std::regex::ECMAScript | std::regex::multiline));
}

// The start of a text for a message: its first line, at most 200 characters.
std::string excerpt(const std::string& text)
{
  std::string first = text.substr(0, text.find('\n'));
  if (first.size() > 200)
    first = first.substr(0, 200) + "...";
  if (first.size() < text.size() && text.find('\n') + 1 < text.size())
    first += " (and more lines)";
  return first.empty() ? "nothing" : "'" + first + "'";
}

Outcome check_file(const spec::ImageTest& test, const fs::path& root)
{
  fs::path path = root / fs::path(test.subject).relative_path();
  struct stat st {};
  bool found = ::lstat(path.c_str(), &st) == 0;
  if (!test.exists)
    return found ? fail("no " + test.subject, "it exists (" + type_of(st) + ")")
                 : pass("no " + test.subject);
  if (!found)
    return fail(test.subject + " exists", "it does not exist");
  if (!test.type.empty() && type_of(st) != test.type)
    return fail("a " + test.type, "a " + type_of(st));
  if (test.mode && (st.st_mode & 07777) != *test.mode)
    return fail("mode " + octal(*test.mode), "mode " + octal(st.st_mode));
  if (!test.owner.empty()) {
    std::string user = name_of(root / "etc/passwd", st.st_uid);
    std::string owner = test.owner.find(':') == std::string::npos
                            ? user
                            : user + ":" + name_of(root / "etc/group", st.st_gid);
    if (owner != test.owner)
      return fail("owner " + test.owner, "owner " + owner);
  }
  if (!test.content_regex.empty()) {
    auto content = util::read_file(path);
    if (!content)
      return fail("content matching /" + test.content_regex + "/", content.error().message);
    if (!search(test.content_regex, *content))
      return fail("content matching /" + test.content_regex + "/", excerpt(*content));
  }
  return pass(test.subject + " as described");
}

Outcome check_package(const spec::ImageTest& test, const fs::path& root)
{
  auto packages = image::installed_packages(root);
  if (!packages)
    return fail(test.subject + " installed", packages.error().message);
  std::string wanted =
      test.subject + " installed" + (test.version.empty() ? "" : " " + test.version);
  for (const auto& package : *packages) {
    if (package.name != test.subject)
      continue;
    if (test.version.empty() || image::satisfies(package.version, test.version).value_or(false))
      return pass(wanted);
    return fail(wanted, "version " + package.version);
  }
  return fail(wanted, "not installed");
}

Outcome check_user(const spec::ImageTest& test, const fs::path& root)
{
  auto users = image::read_account_file(root / "etc/passwd");
  auto it = users.find(test.subject);
  if (it == users.end())
    return fail("user " + test.subject, "no such user in /etc/passwd");
  const auto& fields = it->second;
  if (!test.shell.empty() && (fields.size() < 7 || fields[6] != test.shell))
    return fail("shell " + test.shell, "shell " + (fields.size() < 7 ? "(none)" : fields[6]));
  auto groups = image::read_account_file(root / "etc/group");
  std::vector<std::string> missing;
  for (const auto& group : test.groups) {
    auto g = groups.find(group);
    auto members = g == groups.end() || g->second.size() < 4 ? std::vector<std::string>{}
                                                             : util::split(g->second[3], ',');
    bool primary =
        g != groups.end() && g->second.size() > 2 && fields.size() > 3 && g->second[2] == fields[3];
    if (!primary && std::find(members.begin(), members.end(), test.subject) == members.end())
      missing.push_back(group);
  }
  if (!missing.empty())
    return fail("member of " + util::join(test.groups, ", "),
                "not in " + util::join(missing, ", "));
  return pass("user " + test.subject + " as described");
}

Outcome check_service(const spec::ImageTest& test, const fs::path& root)
{
  std::string unit =
      test.subject.find('.') == std::string::npos ? test.subject + ".service" : test.subject;
  std::error_code ec;
  fs::path system = root / "etc/systemd/system";
  for (const auto& entry : fs::directory_iterator(system, ec)) {
    std::string folder = entry.path().filename().string();
    bool wants = folder.size() > 6 && folder.substr(folder.size() - 6) == ".wants";
    if (wants && fs::is_symlink(entry.path() / unit))
      return pass(unit + " enabled");
  }
  return fail(unit + " enabled", "no link to it in /etc/systemd/system/*.wants");
}

} // namespace

Outcome check_in_tree(const spec::ImageTest& test, const fs::path& root)
{
  if (test.kind == "file")
    return check_file(test, root);
  if (test.kind == "package")
    return check_package(test, root);
  if (test.kind == "user")
    return check_user(test, root);
  if (test.kind == "group") {
    bool found = image::read_account_file(root / "etc/group").count(test.subject) > 0;
    return found ? pass("group " + test.subject)
                 : fail("group " + test.subject, "no such group in /etc/group");
  }
  return check_service(test, root);
}

Outcome judge_command(const spec::ImageTest& test, const CommandRun& run)
{
  if (run.timed_out) {
    char limit[32];
    std::snprintf(limit, sizeof limit, "%gs", test.timeout);
    return fail("to finish within " + std::string(limit),
                "still running after " + std::string(limit) + ", stopped");
  }
  std::string expected = "exit code " + std::to_string(test.exit_code);
  if (run.exit_code != test.exit_code) {
    std::string said = util::trim(run.stderr_text).empty() ? run.stdout_text : run.stderr_text;
    return fail(expected, "exit code " + std::to_string(run.exit_code) + ", output " +
                              excerpt(std::string(util::trim(said))));
  }
  if (!test.stdout_regex.empty() && !search(test.stdout_regex, run.stdout_text))
    return fail("stdout matching /" + test.stdout_regex + "/", excerpt(run.stdout_text));
  if (!test.stderr_regex.empty() && !search(test.stderr_regex, run.stderr_text))
    return fail("stderr matching /" + test.stderr_regex + "/", excerpt(run.stderr_text));
  return pass(expected);
}

} // namespace kiln::check
