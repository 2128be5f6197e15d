// The log of one build phase: every output line goes to OUT/logs/NN-name.log and to the
// observer; the last lines are kept to explain a failure.
#pragma once

#include "bake/observer.hpp"
#include "util/process.hpp"
#include "util/redact.hpp"

#include <deque>
#include <filesystem>
#include <fstream>
#include <string>

namespace kiln::bake {

class StepLog : public util::ProcessObserver {
public:
  static constexpr size_t kTailLines = 20;

  StepLog(const std::filesystem::path& path, BuildObserver& observer);

  void on_line(std::string_view line) override;
  void on_tick() override { observer_.tick(); }

  // A line kiln itself writes (a command it runs, a file it removed).
  void note(std::string_view line);
  // A command about to run, for --verbose.
  void command(std::string_view line);

  // From now on, secret values in anything this log writes or shows are replaced.
  void set_redactor(const util::Redactor* redactor) { redactor_ = redactor; }

  const std::filesystem::path& path() const { return path_; }
  const std::deque<std::string>& tail() const { return tail_; }
  BuildObserver& observer() { return observer_; }

private:
  std::filesystem::path path_;
  std::ofstream file_;
  BuildObserver& observer_;
  std::deque<std::string> tail_;
  const util::Redactor* redactor_ = nullptr;

  std::string clean(std::string_view line) const;
};

} // namespace kiln::bake
