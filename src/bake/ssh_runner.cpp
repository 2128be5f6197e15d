#include "bake/ssh_runner.hpp"

#include "sandbox/sandbox.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"
#include "util/strings.hpp"

#include <sys/stat.h>

namespace kiln::bake {

namespace fs = std::filesystem;

namespace {

// Where a bind's target is put aside while the bind is in place.
std::string aside_path(size_t index)
{
  return "/run/kiln/aside/" + std::to_string(index);
}

// Receives a bind on stdin. $1 target, $2 where what it hides goes, $3 dir|file|writable,
// $4 the file's mode. Fixed: paths arrive as arguments.
const char* kUpload = R"sh(t=$1 aside=$2 kind=$3 mode=$4
if [ "$kind" = writable ]; then mkdir -p "$t"; exec tar -x -C "$t" -f -; fi
if [ -e "$t" ] || [ -L "$t" ]; then
  mkdir -p "$(dirname "$aside")"; rm -rf "$aside"; mv "$t" "$aside"
fi
mkdir -p "$(dirname "$t")"
if [ "$kind" = dir ]; then mkdir "$t"; exec tar -x -C "$t" -f -; fi
cat > "$t"; chmod "$mode" "$t")sh";

std::string octal_mode(const fs::path& file)
{
  struct stat st {};
  ::stat(file.c_str(), &st);
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  return text;
}

Status check_result(const Expected<util::ProcessResult>& result, const std::string& what,
                    StepLog& log)
{
  if (!result)
    return result.error();
  if (result->interrupted_by != 0)
    return make_error(ExitCode::interrupted, what + " " + result->describe());
  if (result->success())
    return ok_status();
  std::string how = result->describe();
  if (result->exit_code == 255)
    how += " (255 is also SSH's own failure: see the log)";
  log.note(what + " ended with " + how);
  return make_error(ExitCode::build_failed, what + " ended with " + how);
}

} // namespace

SshRunner::SshRunner(const vm::SshTransport& ssh, fs::path scratch)
    : ssh_(ssh), scratch_(std::move(scratch))
{
}

Status SshRunner::upload(const sandbox::Bind& bind, size_t index, StepLog& log)
{
  if (!bind.upper.empty())
    return make_error(ExitCode::environment,
                      "the VM builder cannot overlay " + bind.source.string() + " in the machine");
  bool folder = fs::is_directory(bind.source);
  fs::path data = bind.source;
  if (folder) {
    data = scratch_ / "upload.tar";
    int code = -1;
    auto packed =
        util::capture_output({"tar", "-C", bind.source.string(), "-cf", data.string(), "."}, &code);
    if (!packed || code != 0)
      return make_error(ExitCode::build_failed, "cannot pack " + bind.source.string() +
                                                    " for the machine" +
                                                    (packed ? ": " + *packed : std::string()));
  }
  std::string kind = bind.writable ? "writable" : folder ? "dir" : "file";
  std::string command =
      util::shell_join({"sh", "-c", kUpload, "kiln-upload", bind.target, aside_path(index), kind,
                        folder ? "" : octal_mode(bind.source)});
  auto sent = ssh_.stream(command, &log, data);
  if (folder)
    fs::remove(data);
  return check_result(sent, "copying " + bind.source.string() + " to " + bind.target, log);
}

Status SshRunner::run_script(const std::string& script, const std::string& what, StepLog& log)
{
  fs::path file = scratch_ / "script.sh";
  KILN_TRY(util::write_file_atomic(file, script, 0600));
  auto ran = ssh_.stream("sh -s", &log, file);
  fs::remove(file);
  return check_result(ran, what, log);
}

Status SshRunner::attach(const TreeCommand& command, StepLog& log)
{
  KILN_TRY(util::make_dirs(scratch_));
  for (size_t i = 0; i < command.binds.size(); ++i)
    KILN_TRY(upload(command.binds[i], i, log));
  if (command.secret_files.empty())
    return ok_status();
  std::string script = "set -e\numask 077\nmkdir -p /run/secrets\n";
  for (const auto& [name, value] : command.secret_files)
    script += "printf '%s' " + util::shell_quote(value) + " > /run/secrets/" + name +
              "\nchmod 0400 /run/secrets/" + name + "\n";
  return run_script(script, "writing the step's secrets in the machine", log);
}

Status SshRunner::detach(const TreeCommand& command, StepLog& log)
{
  std::string script;
  for (const auto& [name, value] : command.secret_files)
    script += "rm -f /run/secrets/" + name + "\n";
  for (size_t i = command.binds.size(); i-- > 0;) {
    const auto& bind = command.binds[i];
    if (bind.writable)
      continue;
    std::string target = util::shell_quote(bind.target);
    std::string aside = util::shell_quote(aside_path(i));
    script += "rm -rf " + target + "\nif [ -e " + aside + " ] || [ -L " + aside + " ]; then mv " +
              aside + " " + target + "; fi\n";
  }
  if (script.empty())
    return ok_status();
  return run_script("set -e\n" + script, "removing the step's files from the machine", log);
}

Expected<util::ProcessResult> SshRunner::execute(const TreeCommand& command, StepLog& log)
{
  if (!command.chroot)
    return make_error(ExitCode::environment,
                      "the VM builder runs a tool beside the image only through its own path");
  std::string shown = command.display.empty() ? util::shell_join(command.argv) : command.display;
  log.note("run in machine: " + shown);
  log.command(shown);
  KILN_TRY(attach(command, log));
  std::vector<std::string> argv = {"env", "-i"};
  for (const auto& variable : sandbox::base_environment())
    argv.push_back(variable);
  for (const auto& variable : command.extra_env)
    argv.push_back(variable);
  argv.insert(argv.end(), command.argv.begin(), command.argv.end());
  // Through stdin: the environment may hold a secret's value (secret_env).
  fs::path file = scratch_ / "command.sh";
  KILN_TRY(util::write_file_atomic(
      file, "cd / && umask 022 && " + util::shell_join(argv) + " </dev/null\n", 0600));
  auto ran = ssh_.stream("sh -s", &log, file);
  fs::remove(file);
  Status detached = detach(command, log);
  if (ran && ran->interrupted_by == 0 && !detached)
    return std::move(detached).error();
  return ran;
}

Status SshRunner::run(const TreeCommand& command, StepLog& log)
{
  return check_result(execute(command, log), command.argv.at(0), log);
}

Expected<int> SshRunner::exit_code(const TreeCommand& command, StepLog& log)
{
  auto result = execute(command, log);
  if (!result)
    return std::move(result).error();
  if (result->interrupted_by != 0)
    return make_error(ExitCode::interrupted, command.argv[0] + " " + result->describe());
  return result->term_signal ? 128 + result->term_signal : result->exit_code;
}

} // namespace kiln::bake
