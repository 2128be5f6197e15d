#include "cli/app.hpp"

#include "cli/commands.hpp"
#include "util/interrupt.hpp"
#include "util/strings.hpp"
#include "util/version.hpp"

#include <cstdio>
#include <optional>

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

Expected<config::Settings> load_settings(std::vector<config::Flag> flags)
{
  return config::load({{}, std::move(flags)});
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
  sudo kiln shell out/my-agent       # a shell in the image (or where a bake failed)
  kiln diff out/agent-1.0 out/agent-1.1 --markdown   # release notes
  kiln schema > kiln-image.schema.json
  kiln cache ls
  kiln publish out/my-agent --store /srv/kiln-store --key release.key
  kiln promote my-agent@1.2.0 --to staging
  kiln pull my-agent@prod --to /srv/images/my-agent --public-key release.pub
  kiln ci --dry-run                  # in an images repository: what its branch policy does
  kiln pipeline init --azure         # its build and deploy pipelines

Exit codes:
  0 success, 1 a build step or a test failed, 2 bad command line, 3 invalid definition,
  4 an input is missing or fails its sha256, 5 the machine lacks something
  (root, a tool, disk space, a reachable mirror), 6 the store refuses (a published
  version with other content, a channel's rule, a revoked version), 130 interrupted
  (Ctrl-C, SIGINT), 143 stopped (SIGTERM).)";

namespace {

// The subcommand the parser was in when it failed: the deepest one it entered.
const CLI::App* current_command(const CLI::App& app)
{
  for (const auto* sub : app.get_subcommands([](const CLI::App* a) { return a->parsed() > 0; }))
    return current_command(*sub);
  return &app;
}

// "kiln biuld": CLI11 would say a subcommand is required; say the command is unknown instead.
std::optional<int> unknown_command(const CLI::App& app, int argc, char** argv)
{
  if (argc < 2 || argv[1][0] == '-')
    return std::nullopt;
  std::string word = argv[1];
  std::vector<std::string_view> names;
  for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (sub->get_name() == word)
      return std::nullopt;
    names.push_back(sub->get_name());
  }
  std::string suggestion = util::closest_match(word, names);
  return report(make_error(ExitCode::usage, "'" + word + "' is not a kiln command",
                           (suggestion.empty() ? "" : "did you mean '" + suggestion + "'? ") +
                               std::string("kiln --help lists the commands")));
}

// A missing or bad argument, said with the command's usage line.
int parse_error(const CLI::App& app, const CLI::ParseError& e)
{
  const CLI::App* command = current_command(app);
  std::string path = "kiln";
  if (command != &app && command->get_parent() != &app)
    path += " " + command->get_parent()->get_name();
  if (command != &app)
    path += " " + command->get_name();
  std::string usage;
  if (auto formatter = std::dynamic_pointer_cast<CLI::Formatter>(command->get_formatter()))
    usage = std::string(util::trim_copy(formatter->make_usage(command, path)));
  std::string message = e.what();
  if (dynamic_cast<const CLI::RequiredError*>(&e)) {
    for (const auto* option : command->get_options()) {
      if (option->get_positional() && option->get_required() && option->count() == 0) {
        // Named as the usage line and --help name it.
        message =
            "missing the argument '" + option->get_name() + "' (" + option->get_description() + ")";
        break;
      }
    }
  }
  return report(
      make_error(ExitCode::usage, path + ": " + message,
                 (usage.empty() ? "" : usage + " ") + "(" + path + " --help shows more)"));
}

} // namespace

int run(int argc, char** argv)
{
  CLI::App app{"kiln: bake, test, version and ship CI agent images", "kiln"};
  app.footer(kFooter);
  app.set_version_flag("--version", kVersion);
  app.require_subcommand(1);
  std::vector<Command> commands = {
      add_validate(app), add_schema(app), add_build(app),   add_test(app),   add_shell(app),
      add_diff(app),     add_cache(app),  add_catalog(app), add_key(app),    add_publish(app),
      add_pull(app),     add_verify(app), add_promote(app), add_revoke(app), add_ls(app),
      add_show(app),     add_gc(app),     add_store(app),   add_config(app), add_ci(app),
      add_pipeline(app)};
  // `kiln key generate --help` shows the examples of `kiln key`, not kiln's own, which a
  // nested command would otherwise inherit.
  for (const auto& command : commands) {
    for (auto* nested : command.app->get_subcommands([](CLI::App*) { return true; }))
      nested->footer(command.app->get_footer());
  }
  if (auto code = unknown_command(app, argc, argv))
    return *code;
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0)
      return app.exit(e);
    return parse_error(app, e);
  }
  util::install_interrupt_handlers();
  for (const auto& command : commands) {
    if (command.app->parsed())
      return command.run();
  }
  return static_cast<int>(ExitCode::usage);
}

} // namespace kiln::cli
