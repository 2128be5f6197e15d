// The ansible step: the build host's ansible-playbook runs against the image tree through the
// community.general.chroot connection.
//
// It runs inside kiln's sandbox without being chrooted itself: a private mount namespace where the
// step's layers are mounted, with /proc, /dev, tmpfs /tmp and /run (the step's secrets at
// /run/secrets), the shared package cache, and the build host's apt proxy in place of the image's.
// The chroot connection then runs each task's module in the tree. Python, which the modules need,
// is installed for the run and removed afterwards unless the step keeps it.
#pragma once

#include "bake/step_context.hpp"
#include "bake/step_log.hpp"
#include "spec/definition.hpp"
#include "util/error.hpp"

#include <string>

namespace kiln::bake {

Status run_ansible(const spec::AnsibleStep& ansible, const StepContext& context, StepLog& log);

} // namespace kiln::bake
