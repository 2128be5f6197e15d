// The ansible-playbook of the build host, as the ansible step uses it: its version, its
// environment, a playbook's syntax check, and a reader of its output. None of it touches the
// image; bake/ansible.cpp runs the play against the tree.
#pragma once

#include "bake/step_log.hpp"
#include "spec/definition.hpp"
#include "util/error.hpp"
#include "util/process.hpp"
#include "util/strings.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace kiln::bake {

// The controller's version line ("ansible-playbook [core 2.14.18]"), an input of every ansible
// layer. Fails with a hint when ansible-playbook is not installed on the build host.
Expected<std::string> ansible_version();

// Runs ansible-playbook --syntax-check on the step's playbook, so that a broken playbook or a
// missing role fails before anything is built. `scratch` is an empty folder it may use.
Status check_playbook(const spec::Definition& definition, const spec::Step& step,
                      const std::filesystem::path& scratch, StepLog& log);

// The controller's environment, with its scratch files in `scratch`. Commands the chroot
// connection runs in the image inherit it, so it also holds what apt and dpkg need there.
Expected<std::vector<std::string>> ansible_environment(const spec::Definition& definition,
                                                       const spec::AnsibleStep& ansible,
                                                       const std::filesystem::path& scratch);

// ansible-playbook [--tags T] PLAYBOOK.
std::vector<std::string> playbook_argv(const spec::Definition& definition,
                                       const spec::AnsibleStep& ansible);

// Reads Ansible's default output as it streams: passes each line on to the step's log and keeps
// what explains a failure (the failed task's name and message, or Ansible's own ERROR!).
class AnsibleOutput : public util::ProcessObserver {
public:
  explicit AnsibleOutput(StepLog& log) : log_(log) {}

  void on_line(std::string_view line) override
  {
    log_.on_line(line);
    if (line.rfind("TASK [", 0) == 0) {
      size_t end = line.rfind(']');
      task_ = std::string(line.substr(6, end == std::string_view::npos ? end : end - 6));
    } else if ((line.rfind("fatal: [", 0) == 0 || line.rfind("failed: [", 0) == 0) &&
               failure_.empty()) {
      failure_ = "task '" + task_ + "' failed: " + message_of(line);
    } else if ((line.rfind("ERROR! ", 0) == 0 || line.rfind("ERROR: ", 0) == 0) && error_.empty()) {
      error_ = std::string(line.substr(7));
    }
  }
  void on_tick() override { log_.on_tick(); }

  // What went wrong, in one line; "" when nothing was recognised.
  std::string summary() const { return !failure_.empty() ? failure_ : error_; }

private:
  StepLog& log_;
  std::string task_;
  std::string failure_;
  std::string error_;

  // "fatal: [host]: FAILED! => {...}": the result's msg, and the last line of stderr if any.
  static std::string message_of(std::string_view line)
  {
    size_t arrow = line.find("=> {");
    if (arrow == std::string_view::npos)
      return std::string(line);
    nlohmann::json result = nlohmann::json::parse(line.substr(arrow + 3), nullptr, false);
    if (!result.is_object())
      return std::string(line.substr(arrow + 3));
    std::string message = result.value("msg", std::string("(no message)"));
    std::string stderr_raw = result.value("stderr", std::string());
    std::string stderr_text(util::trim(stderr_raw));
    if (!stderr_text.empty())
      message += ": " + stderr_text.substr(stderr_text.rfind('\n') + 1);
    return message;
  }
};

} // namespace kiln::bake
