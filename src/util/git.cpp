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

} // namespace kiln::util
