// One function pair per subcommand: `add_*` declares its options on the CLI11 app, `run_*` does
// the work and returns the exit code.
#pragma once

#include "config/settings.hpp"
#include "spec/loader.hpp"
#include "util/error.hpp"
#include "util/process.hpp"

#include <CLI/CLI.hpp>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::cli {

// A registered subcommand: after parsing, `run` is called if it was chosen.
struct Command {
  CLI::App* app;
  std::function<int()> run;
};

Command add_validate(CLI::App& app);
Command add_schema(CLI::App& app);
Command add_catalog(CLI::App& app);
Command add_build(CLI::App& app);
Command add_cache(CLI::App& app);
Command add_test(CLI::App& app);
Command add_diff(CLI::App& app);
Command add_key(CLI::App& app);
Command add_publish(CLI::App& app);
Command add_pull(CLI::App& app);
Command add_verify(CLI::App& app);
Command add_promote(CLI::App& app);
Command add_revoke(CLI::App& app);
Command add_ls(CLI::App& app);
Command add_show(CLI::App& app);
Command add_gc(CLI::App& app);
Command add_store(CLI::App& app);
Command add_config(CLI::App& app);
Command add_shell(CLI::App& app);
Command add_ci(CLI::App& app);
Command add_pipeline(CLI::App& app);

// Passes each line of progress to stderr as it is, so that --json keeps stdout to itself.
class StderrLines : public util::ProcessObserver {
public:
  void on_line(std::string_view line) override
  {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
  }
};

// Prints "kiln: error: ..." with detail and hint to stderr and returns the error's exit code.
int report(const Error& error);

// Option values with units: "7d" -> seconds, "20G" -> bytes; a usage error names the option.
// The settings (config::load) with these flags on top, for commands without --config.
Expected<config::Settings> load_settings(std::vector<config::Flag> flags = {});

Expected<int64_t> duration_option(const std::string& option, const std::string& text);
Expected<uint64_t> size_option(const std::string& option, const std::string& text);

// Prints each problem of a definition as FILE:LINE:COL: error: ... to stderr.
void report(const std::vector<spec::Diagnostic>& diagnostics);

} // namespace kiln::cli
