// builder: vm: the base disk booted (vm/machine.hpp, an overlay: the disk is never written), the
// definition's steps run in it over SSH with the step kinds of steps.cpp (an SshRunner; Ansible
// over SSH), a reboot after a step that asks, then the machine's root file system captured with
// tar over SSH into one layer, the machine powered off, and what kiln's own login left (its user,
// its sudo rule) removed. Generalizing and exporting are the tree builder's, on that layer.
#pragma once

#include "bake/inputs.hpp"
#include "bake/step_log.hpp"
#include "spec/definition.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

namespace kiln::bake {

struct VmBuild {
  const spec::Definition& definition;
  const Inputs& inputs;
  std::filesystem::path tree;    // the layer's folder, which receives the captured tree
  std::filesystem::path scratch; // a folder of this build's own
  std::filesystem::path console_log;
  int64_t source_date_epoch = 0;
  const std::map<std::string, std::string>& secrets; // every secret's value, by name
  bool kvm = false;
  // --on-error=abort: where the machine's disk goes when a step fails (empty: it is not kept).
  std::filesystem::path keep_disk;
};

Status build_in_vm(const VmBuild& build, StepLog& log);

} // namespace kiln::bake
