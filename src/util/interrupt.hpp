// SIGINT/SIGTERM handling: the handler only records the signal and wakes poll(); whoever is
// waiting for a child (util/process) then stops it, and the command unwinds normally so that
// every cleanup runs.
#pragma once

namespace kiln::util {

void install_interrupt_handlers();
int interrupt_signal(); // the signal received, or 0
int interrupt_fd();     // becomes readable once a signal arrived

} // namespace kiln::util
