#include "bake/step_log.hpp"

namespace kiln::bake {

StepLog::StepLog(const std::filesystem::path& path, BuildObserver& observer)
    : path_(path), file_(path, std::ios::out | std::ios::trunc), observer_(observer)
{
}

void StepLog::on_line(std::string_view line)
{
  file_ << line << '\n';
  file_.flush();
  tail_.emplace_back(line);
  if (tail_.size() > kTailLines)
    tail_.pop_front();
  observer_.phase_line(line);
}

void StepLog::note(std::string_view line)
{
  file_ << "kiln: " << line << '\n';
  file_.flush();
}

} // namespace kiln::bake
