#include "cli/app.hpp"

#include "cli/commands.hpp"
#include "util/interrupt.hpp"
#include "util/strings.hpp"
#include "util/version.hpp"

#include <cstdio>

namespace kiln::cli {

int report(const Error& error)
{
  std::fprintf(stderr, "kiln: error: %s\n", error.message.c_str());
  if (!error.detail.empty())
    std::fprintf(stderr, "%s\n", error.detail.c_str());
  if (!error.hint.empty())
    std::fprintf(stderr, "  hint: %s\n", error.hint.c_str());
  return static_cast<int>(error.code);
}

void report(const std::vector<spec::Diagnostic>& diagnostics)
{
  for (const auto& diagnostic : diagnostics)
    std::fprintf(stderr, "%s\n", diagnostic.str().c_str());
}

Expected<int64_t> duration_option(const std::string& option, const std::string& text)
{
  if (auto seconds = util::parse_duration(text))
    return *seconds;
  return make_error(ExitCode::usage, option + " '" + text + "' is not a duration",
                    "write e.g. 90m, 12h, 7d or 2w");
}

Expected<uint64_t> size_option(const std::string& option, const std::string& text)
{
  if (auto bytes = util::parse_size(text))
    return *bytes;
  return make_error(ExitCode::usage, option + " '" + text + "' is not a size",
                    "write e.g. 500M, 20G or a number of bytes");
}

static const char* kFooter = R"(Examples:
  kiln validate examples/linux-agent/image.yaml
  sudo ./scripts/bake-example.sh     # builds kiln, bakes examples/linux-agent
  sudo kiln build image.yaml --out out/my-agent
  sudo kiln test out/my-agent        # its tests again, without rebuilding
  kiln diff out/agent-1.0 out/agent-1.1 --markdown   # release notes
  kiln schema > kiln-image.schema.json
  kiln cache ls
  kiln publish out/my-agent --store /srv/kiln-store --key release.key
  kiln promote my-agent@1.2.0 --to staging
  kiln pull my-agent@prod --to /srv/images/my-agent --public-key release.pub

Exit codes:
  0 success, 1 a build step or a test failed, 2 bad command line, 3 invalid definition,
  4 an input is missing or fails its sha256, 5 the machine lacks something
  (root, a tool, disk space, a reachable mirror), 6 the store refuses (a published
  version with other content, a channel's rule, a revoked version), 130 interrupted.)";

int run(int argc, char** argv)
{
  CLI::App app{"kiln: bake, test, version and ship CI agent images", "kiln"};
  app.footer(kFooter);
  app.set_version_flag("--version", kVersion);
  app.require_subcommand(1);
  std::vector<Command> commands = {
      add_validate(app), add_schema(app),  add_build(app),  add_test(app),    add_diff(app),
      add_cache(app),    add_catalog(app), add_key(app),    add_publish(app), add_pull(app),
      add_verify(app),   add_promote(app), add_revoke(app), add_ls(app),      add_show(app),
      add_gc(app),       add_store(app)};
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : static_cast<int>(ExitCode::usage);
  }
  util::install_interrupt_handlers();
  for (const auto& command : commands) {
    if (command.app->parsed())
      return command.run();
  }
  return static_cast<int>(ExitCode::usage);
}

} // namespace kiln::cli
