#include "bake/step_log.hpp"

namespace kiln::bake {

StepLog::StepLog(const std::filesystem::path& path, BuildObserver& observer)
    : path_(path), file_(path, std::ios::out | std::ios::trunc), observer_(observer)
{
}

std::string StepLog::clean(std::string_view line) const
{
  return redactor_ ? redactor_->apply(line) : std::string(line);
}

void StepLog::on_line(std::string_view raw)
{
  std::string line = clean(raw);
  file_ << line << '\n';
  file_.flush();
  tail_.push_back(line);
  if (tail_.size() > kTailLines)
    tail_.pop_front();
  observer_.phase_line(line);
}

void StepLog::note(std::string_view line)
{
  file_ << "kiln: " << clean(line) << '\n';
  file_.flush();
}

void StepLog::command(std::string_view line)
{
  observer_.command(clean(line));
}

} // namespace kiln::bake
