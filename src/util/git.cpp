#include "util/git.hpp"

#include "util/process.hpp"
#include "util/strings.hpp"

namespace kiln::util {

namespace {

std::optional<std::string> git_output(const std::filesystem::path& dir,
                                      std::vector<std::string> args)
{
  if (find_program("git").empty())
    return std::nullopt;
  std::vector<std::string> argv = {"git", "-C", dir.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  int exit_code = 1;
  auto output = capture_output(argv, &exit_code);
  if (!output || exit_code != 0)
    return std::nullopt;
  std::string text(trim(*output));
  if (text.empty())
    return std::nullopt;
  return text;
}

} // namespace

std::optional<std::string> git_head_commit(const std::filesystem::path& path)
{
  return git_output(path.parent_path(), {"rev-parse", "HEAD"});
}

std::optional<int64_t> git_commit_time(const std::filesystem::path& file)
{
  auto text =
      git_output(file.parent_path(), {"log", "-1", "--format=%ct", "--", file.filename().string()});
  if (!text)
    return std::nullopt;
  try {
    return std::stoll(*text);
  } catch (...) {
    return std::nullopt;
  }
}

std::vector<GitCommit> git_file_history(const std::filesystem::path& file, size_t limit)
{
  std::vector<GitCommit> commits;
  auto text = git_output(file.parent_path(), {"log", "-n", std::to_string(limit), "--format=%H %ct",
                                              "--", file.filename().string()});
  if (!text)
    return commits;
  for (const auto& line : split(*text, '\n')) {
    auto fields = split(line, ' ');
    if (fields.size() != 2 || fields[0].empty() ||
        fields[1].find_first_not_of("0123456789") != std::string::npos || fields[1].size() > 12)
      return {}; // not what git log writes: trust none of it
    commits.push_back({fields[0], std::stoll(fields[1])});
  }
  return commits;
}

std::optional<std::string> git_file_at(const std::filesystem::path& file, const std::string& commit,
                                       size_t max_bytes)
{
  if (commit.empty() || commit.find_first_not_of("0123456789abcdef") != std::string::npos)
    return std::nullopt;
  int exit_code = 1;
  auto text = capture_output(
      {"git", "-C", file.parent_path().string(), "show", commit + ":./" + file.filename().string()},
      &exit_code, max_bytes);
  if (!text || exit_code != 0)
    return std::nullopt;
  return std::move(*text);
}

} // namespace kiln::util
