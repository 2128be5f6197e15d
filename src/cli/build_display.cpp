#include "cli/build_display.hpp"

#include "util/strings.hpp"

#include <regex>
#include <sys/ioctl.h>
#include <unistd.h>

namespace kiln::cli {

void AptProgress::feed(std::string_view line)
{
  static const std::regex newly("([0-9]+) newly installed");
  std::match_results<std::string_view::const_iterator> match;
  if (std::regex_search(line.begin(), line.end(), match, newly))
    total_ = std::stoi(match[1].str());
  else if (line.rfind("Get:", 0) == 0)
    ++fetched_;
  else if (line.rfind("Unpacking ", 0) == 0)
    ++unpacked_;
  else if (line.rfind("Setting up ", 0) == 0)
    ++set_up_;
}

std::string AptProgress::summary() const
{
  if (total_ == 0 && fetched_ == 0 && set_up_ == 0)
    return {};
  std::string text =
      "apt: fetched " + std::to_string(fetched_) + ", unpacked " + std::to_string(unpacked_);
  text += ", set up " + std::to_string(set_up_);
  if (total_ > 0)
    text += "/" + std::to_string(total_);
  return text;
}

BuildDisplay::BuildDisplay(std::FILE* out, bool terminal, bool verbose)
    : out_(out), terminal_(terminal), verbose_(verbose)
{
}

std::string BuildDisplay::label(const bake::Phase& phase) const
{
  std::string text =
      "[" + std::to_string(phase.number) + "/" + std::to_string(phase.total) + "] " + phase.name;
  if (phase.kind != phase.name)
    text += " (" + phase.kind + ")";
  return text;
}

std::string BuildDisplay::timestamp() const
{
  double seconds = std::chrono::duration<double>(Clock::now() - build_start_).count();
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "[%7.1fs]", seconds);
  return buffer;
}

void BuildDisplay::phase_started(const bake::Phase& phase)
{
  phase_ = phase;
  phase_start_ = Clock::now();
  running_ = true;
  progress_.clear();
  last_line_.clear();
  apt_.reset();
  if (terminal_)
    draw(true);
  else
    std::fprintf(out_, "%s %s started\n", timestamp().c_str(), label(phase).c_str());
  std::fflush(out_);
}

void BuildDisplay::phase_line(std::string_view line)
{
  apt_.feed(line);
  last_line_ = std::string(util::trim(line));
  draw(false);
}

void BuildDisplay::phase_progress(std::string_view text)
{
  progress_ = std::string(text);
  draw(false);
}

void BuildDisplay::phase_finished(const bake::Phase& phase, bake::Outcome outcome, double seconds,
                                  std::string_view why)
{
  running_ = false;
  const char* word = outcome == bake::Outcome::failed   ? "FAILED"
                     : outcome == bake::Outcome::cached ? "cached"
                                                        : "done";
  std::string reason = why.empty() ? "" : "  (" + std::string(why) + ")";
  if (terminal_) {
    clear_line();
    std::fprintf(out_, "%6s %s  %s%s\n", word, label(phase).c_str(),
                 util::format_duration(seconds).c_str(), reason.c_str());
  } else {
    std::fprintf(out_, "%s %s %s in %s%s\n", timestamp().c_str(), label(phase).c_str(), word,
                 util::format_duration(seconds).c_str(), reason.c_str());
  }
  std::fflush(out_);
}

void BuildDisplay::command(std::string_view command)
{
  if (!verbose_)
    return;
  if (terminal_)
    clear_line();
  std::fprintf(out_, "%s   $ %.*s\n", timestamp().c_str(), static_cast<int>(command.size()),
               command.data());
  draw(true);
}

void BuildDisplay::tick()
{
  draw(false);
}

void BuildDisplay::clear_line()
{
  std::fputs("\r\x1b[K", out_);
}

void BuildDisplay::draw(bool force)
{
  if (!terminal_ || !running_)
    return;
  auto now = Clock::now();
  if (!force && now - last_draw_ < std::chrono::milliseconds(100))
    return;
  last_draw_ = now;
  double elapsed = std::chrono::duration<double>(now - phase_start_).count();
  std::string detail = !progress_.empty() ? progress_ : apt_.summary();
  if (detail.empty())
    detail = last_line_;
  std::string text =
      " ...  " + label(phase_) + "  " + util::format_duration(elapsed) + "  " + detail;
  struct winsize size {};
  size_t width =
      ::ioctl(fileno(out_), TIOCGWINSZ, &size) == 0 && size.ws_col > 0 ? size.ws_col : 80;
  if (text.size() >= width)
    text.resize(width - 1);
  clear_line();
  std::fputs(text.c_str(), out_);
  std::fflush(out_);
}

} // namespace kiln::cli
