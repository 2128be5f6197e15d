// What a step runs with (StepContext) and the building blocks every step kind shares: commands
// in the tree, apt with the build host's proxy and the shared package cache, copying into the
// image. Used by the step kinds (steps.cpp), the requirements layer and the ansible step.
#pragma once

#include "bake/commands.hpp"
#include "bake/deb_cache.hpp"
#include "bake/inputs.hpp"
#include "bake/step_log.hpp"
#include "sandbox/sandbox.hpp"
#include "spec/definition.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace kiln::bake {

// Where a step's input (a script, a file) is bound in the tree.
inline const std::string kStepInput = std::string(sandbox::kInputDir) + "/src";

// Where the image's apt proxy goes (network.proxy); kiln's own apt runs bypass it.
inline constexpr const char* kAptProxyFile = "/etc/apt/apt.conf.d/80kiln-proxy";

class SshRunner;

struct StepContext {
  const spec::Definition& definition;
  const Inputs& inputs;
  std::filesystem::path tree;    // where the layers are mounted while a command runs
  sandbox::Overlay overlay;      // the layers below, and this step's upper folder
  std::filesystem::path scratch; // an empty folder on the host this step may use
  int64_t source_date_epoch = 0;
  DebCache* debs = nullptr; // the shared package cache, for package steps
  std::vector<std::pair<std::string, std::string>> secrets; // the step's, by name
  bool secret_env = false;
  bool offline = false;                   // network: none
  TreeRunner* runner = &sandbox_runner(); // how commands reach the tree
  SshRunner* machine = nullptr;           // builder: vm: the machine `runner` reaches (else null)
};

// The folders of every layer in the stack, topmost first (upper included).
std::vector<std::filesystem::path> layer_folders(const sandbox::Overlay& overlay);

// A command for the step's tree: SOURCE_DATE_EPOCH, the step's secrets, and `binds`.
TreeCommand tree_command(const StepContext& context, std::vector<std::string> argv,
                         std::vector<sandbox::Bind> binds = {});
// The apt settings for the build host's proxy ("DIRECT" when it has none), as name, value.
std::vector<std::pair<std::string, std::string>> build_apt_proxies();
// The options every apt run kiln makes in a tree starts with (no colour, those proxies).
std::vector<std::string> build_apt_options();
// Runs `work` with the shared package cache bound at /var/cache/apt/archives (when the build has
// one), then keeps the verified packages apt fetched.
Status with_package_cache(const StepContext& context, StepLog& log,
                          const std::function<Status(const std::vector<sandbox::Bind>&)>& work);

Status run_in_image(const StepContext& context, std::vector<std::string> argv, StepLog& log);
// The exit code of a command in the image (for questions such as "does this user exist?").
Expected<int> exit_code_in_image(const StepContext& context, std::vector<std::string> argv,
                                 StepLog& log);
Status copy_into_image(const StepContext& context, const std::filesystem::path& source,
                       const std::string& dest, const std::string& owner, const std::string& mode,
                       StepLog& log);
Status install_packages(const std::vector<std::string>& packages, const StepContext& context,
                        StepLog& log);

} // namespace kiln::bake
