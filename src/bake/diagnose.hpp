// Turning the last lines of a failed phase's log into a way out for the user.
#pragma once

#include "util/error.hpp"

#include <deque>
#include <string>

namespace kiln::bake {

// Sets the error's hint (and, for causes outside the definition, its exit code) from well-known
// messages of apt, dpkg, mmdebstrap and the kernel found in the log tail.
void diagnose(Error& error, const std::deque<std::string>& tail, const std::string& phase_kind);

} // namespace kiln::bake
