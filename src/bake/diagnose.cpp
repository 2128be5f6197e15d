#include "bake/diagnose.hpp"

#include <regex>

namespace kiln::bake {

namespace {

struct Known {
  const char* pattern;
  ExitCode code;
  const char* hint;
};

// Checked in order; the first match wins.
const Known kKnown[] = {
    {"(No space left on device|Disk quota exceeded|write error)", ExitCode::environment,
     "a disk is full: check free space (df) on the cache's filesystem (--cache-dir, "
     "KILN_CACHE_DIR), where layers and exports are written, and on the output folder's"},
    {"Unable to locate package ([^ ]+)", ExitCode::build_failed,
     "no package named '$1' in the configured suite and components: check the spelling "
     "(apt-cache search) or add the component that has it to base.bootstrap.components"},
    {"Version '([^']+)' for '([^']+)' was not found", ExitCode::build_failed,
     "version $1 of $2 is not on the mirror: check the pin with apt-cache policy $2"},
    {"(Could not connect|Connection refused|Temporary failure resolving|Could not resolve|"
     "Failed to fetch|Unable to connect)",
     ExitCode::environment,
     "the package mirror did not answer: check base.bootstrap.mirror and that this machine "
     "reaches it (proxy, DNS)"},
    {"(apt-get update failed|E: The repository .* does not have a Release file)",
     ExitCode::environment,
     "the mirror has no such suite or cannot be read: check base.bootstrap.mirror and suite"},
};

} // namespace

void diagnose(Error& error, const std::deque<std::string>& tail, const std::string& phase_kind)
{
  for (const auto& known : kKnown) {
    std::regex pattern(known.pattern);
    for (auto line = tail.rbegin(); line != tail.rend(); ++line) {
      std::smatch match;
      if (!std::regex_search(*line, match, pattern))
        continue;
      error.hint = match.format(known.hint);
      if (error.code == ExitCode::build_failed)
        error.code = known.code;
      return;
    }
  }
  if (error.hint.empty() && phase_kind == "shell")
    error.hint = "the script failed: the log above shows its output (scripts run with set -eu)";
  if (error.hint.empty() && phase_kind == "bootstrap")
    error.hint = "check base.bootstrap (suite, variant, mirror, packages), and free space (df) on "
                 "the cache's filesystem";
}

} // namespace kiln::bake
