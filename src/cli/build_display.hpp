// How a build looks to a person: on a terminal, one live status line for the running step
// (n/N, name, elapsed time, apt or download progress) above the list of finished steps; when not
// a terminal, plain timestamped lines. --verbose adds every command kiln runs.
#pragma once

#include "bake/observer.hpp"

#include <chrono>
#include <cstdio>
#include <string>

namespace kiln::cli {

// Counts what apt reports, to show "fetched 12, set up 5/40" instead of raw output.
class AptProgress {
public:
  void reset() { *this = AptProgress{}; }
  void feed(std::string_view line);
  std::string summary() const; // "" when apt has said nothing yet

private:
  int total_ = 0;
  int fetched_ = 0;
  int unpacked_ = 0;
  int set_up_ = 0;
};

class BuildDisplay : public bake::BuildObserver {
public:
  BuildDisplay(std::FILE* out, bool terminal, bool verbose);

  void phase_started(const bake::Phase& phase) override;
  void phase_line(std::string_view line) override;
  void phase_progress(std::string_view text) override;
  void phase_finished(const bake::Phase& phase, bake::Outcome outcome, double seconds,
                      std::string_view why) override;
  void command(std::string_view command) override;
  void tick() override;

private:
  using Clock = std::chrono::steady_clock;

  std::string label(const bake::Phase& phase) const;
  std::string timestamp() const;
  void draw(bool force);
  void clear_line();

  std::FILE* out_;
  bool terminal_;
  bool verbose_;
  Clock::time_point build_start_ = Clock::now();
  Clock::time_point phase_start_ = Clock::now();
  Clock::time_point last_draw_{};
  bake::Phase phase_;
  bool running_ = false;
  std::string progress_;
  std::string last_line_;
  AptProgress apt_;
};

} // namespace kiln::cli
