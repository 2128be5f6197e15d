// What a build reports while it runs. bake/ never prints: the CLI implements this interface
// (cli/build_display) and decides how to show it.
#pragma once

#include <string>
#include <string_view>

namespace kiln::bake {

struct Phase {
  int number = 0; // 1-based
  int total = 0;
  std::string name; // step name, or "inputs", "bootstrap", "generalize", "export"
  std::string kind; // step kind, or the phase name again
};

enum class Outcome { built, cached, failed };

class BuildObserver {
public:
  virtual ~BuildObserver() = default;
  virtual void phase_started(const Phase&) {}
  virtual void phase_line(std::string_view) {}     // a line of the phase's output
  virtual void phase_progress(std::string_view) {} // a short status such as "12.0/40.0 MiB"
  // `why` says why a cacheable phase was built ("files/setup.sh changed"), or is empty.
  virtual void phase_finished(const Phase&, Outcome, double /*seconds*/, std::string_view /*why*/)
  {
  }
  virtual void command(std::string_view) {} // a command about to run (shown with --verbose)
  virtual void tick() {}                    // a few times a second while waiting
};

} // namespace kiln::bake
