#include "check/tools.hpp"

#include "check/runner.hpp"
#include "util/strings.hpp"

#include <regex>

namespace kiln::check {

namespace fs = std::filesystem;

namespace {

constexpr double kReportTimeout = 60;

std::string first_line(const std::string& text)
{
  std::string trimmed(util::trim(text));
  return trimmed.substr(0, trimmed.find('\n'));
}

} // namespace

std::string version_in(const std::string& output)
{
  static const std::regex version("[0-9]+([.][0-9]+)+([-+~][0-9A-Za-z.+~-]*)?");
  std::smatch match;
  if (std::regex_search(output, match, version))
    return match.str();
  return "";
}

Expected<std::vector<image::Tool>> tool_versions(const std::vector<spec::ReportCommand>& report,
                                                 const sandbox::RunOptions& tree,
                                                 const fs::path& scratch,
                                                 util::ProcessObserver& log)
{
  std::vector<image::Tool> tools;
  for (size_t i = 0; i < report.size(); ++i) {
    const auto& item = report[i];
    auto run = run_captured(item.command, "", kReportTimeout, tree,
                            scratch / ("report-" + std::to_string(i)), log);
    if (!run)
      return std::move(run).error();
    image::Tool tool{item.name, item.category, "", ""};
    std::string printed = run->stdout_text + "\n" + run->stderr_text;
    if (run->timed_out || run->exit_code != 0) {
      tool.output = run->timed_out ? "timed out"
                                   : "exit code " + std::to_string(run->exit_code) + ": " +
                                         first_line(printed);
    } else {
      tool.output = first_line(printed);
      tool.version = version_in(printed);
    }
    log.on_line(item.name + ": " +
                (tool.version.empty() ? "no version (" + tool.output + ")" : tool.version));
    tools.push_back(std::move(tool));
  }
  return tools;
}

} // namespace kiln::check
