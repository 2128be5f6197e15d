#include "bake/steps.hpp"

#include "bake/ansible.hpp"
#include "bake/commands.hpp"
#include "sandbox/sandbox.hpp"
#include "sandbox/unpack.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <fstream>

namespace kiln::bake {

namespace fs = std::filesystem;

namespace {

// The interpreter line of a script: "#!/bin/bash -x" -> {"/bin/bash", "-x"}.
std::vector<std::string> interpreter_of(const fs::path& script)
{
  std::ifstream in(script);
  std::string first;
  std::getline(in, first);
  if (first.rfind("#!", 0) != 0)
    return {"/bin/sh"};
  std::vector<std::string> words;
  std::string word;
  for (char c : first.substr(2) + " ") {
    if (c == ' ' || c == '\t') {
      if (!word.empty())
        words.push_back(word);
      word.clear();
    } else {
      word += c;
    }
  }
  return words.empty() ? std::vector<std::string>{"/bin/sh"} : words;
}

Status run_shell(const spec::ShellStep& step, const StepContext& context, StepLog& log)
{
  if (!step.script.empty()) {
    fs::path script = context.definition.dir / step.script;
    std::vector<std::string> argv = interpreter_of(script);
    std::string shell = fs::path(argv[0]).filename().string();
    if (shell == "sh" || shell == "bash" || shell == "dash")
      argv.insert(argv.begin() + 1, "-eu");
    argv.push_back(kStepInput);
    return context.runner->run(tree_command(context, argv, {{script, kStepInput}}), log);
  }
  return context.runner->run(tree_command(context, {"/bin/sh", "-eu", "-c", step.run}), log);
}

std::string octal(std::optional<mode_t> mode)
{
  if (!mode)
    return {};
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "%04o", static_cast<unsigned>(*mode));
  return buffer;
}

Status run_file(const spec::FileStep& step, const StepContext& context, StepLog& log)
{
  std::string owner = step.owner.empty() ? "0:0" : step.owner;
  return copy_into_image(context, context.definition.dir / step.src, step.dest, owner,
                         octal(step.mode), log);
}

Status run_artifact(const spec::Step& step, const spec::ArtifactStep& artifact,
                    const StepContext& context, StepLog& log)
{
  const fs::path& file = context.inputs.artifact_files.at(step.name);
  if (!artifact.dest.empty())
    return copy_into_image(context, file, artifact.dest, "0:0", octal(artifact.mode.value_or(0644)),
                           log);
  fs::path unpacked = context.scratch / "extracted";
  KILN_TRY(util::make_dirs(unpacked));
  log.note("extracting " + file.string());
  KILN_TRY(sandbox::extract_confined(file, unpacked, artifact.strip_components, false, &log));
  return copy_into_image(context, unpacked, artifact.extract_to, "0:0", "", log);
}

} // namespace

Status run_step(const spec::Step& step, const StepContext& context, StepLog& log)
{
  if (const auto* packages = std::get_if<spec::PackagesStep>(&step.body))
    return install_packages(packages->packages, context, log);
  if (const auto* shell = std::get_if<spec::ShellStep>(&step.body))
    return run_shell(*shell, context, log);
  if (const auto* file = std::get_if<spec::FileStep>(&step.body))
    return run_file(*file, context, log);
  if (const auto* ansible = std::get_if<spec::AnsibleStep>(&step.body))
    return run_ansible(*ansible, context, log);
  return run_artifact(step, std::get<spec::ArtifactStep>(step.body), context, log);
}

} // namespace kiln::bake
