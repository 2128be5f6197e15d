#include "cli/commands.hpp"
#include "report/diff.hpp"

#include <cstdio>

namespace kiln::cli {

namespace {

struct DiffOptions {
  std::string from;
  std::string to;
  bool json = false;
  bool markdown = false;
};

int run_diff(const DiffOptions& options)
{
  auto from = report::read_image_facts(options.from);
  if (!from)
    return report(from.error());
  auto to = report::read_image_facts(options.to);
  if (!to)
    return report(to.error());
  auto diff = report::diff_images(*from, *to);
  if (options.json)
    std::printf("%s\n", diff.dump(2).c_str());
  else if (options.markdown)
    std::printf("%s", report::diff_markdown(diff).c_str());
  else
    std::printf("%s", report::diff_text(diff).c_str());
  return 0;
}

} // namespace

Command add_diff(CLI::App& app)
{
  auto options = std::make_shared<DiffOptions>();
  auto* sub = app.add_subcommand("diff", "Show what changed between two built images");
  sub->add_option("a", options->from, "The older image's output folder")->required();
  sub->add_option("b", options->to, "The newer image's output folder")->required();
  auto* json = sub->add_flag("--json", options->json, "Print the changes as JSON");
  sub->add_flag("--markdown", options->markdown, "Print the changes as Markdown release notes")
      ->excludes(json);
  sub->footer(R"(Compares the manifests, files.json and tests/results.json of two output folders:
packages added, removed and changed (with versions), tool versions of the software report,
users, files no package owns (by content), and test results. Exit code 0 either way.

Examples:
  kiln diff out/agent-1.0.0 out/agent-1.1.0
  kiln diff out/agent-1.0.0 out/agent-1.1.0 --markdown > RELEASE-NOTES.md
  kiln diff old new --json | jq '.packages.changed')");
  return {sub, [options] { return run_diff(*options); }};
}

} // namespace kiln::cli
