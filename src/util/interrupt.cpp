#include "util/interrupt.hpp"

#include <csignal>
#include <fcntl.h>
#include <unistd.h>

namespace kiln::util {

namespace {
volatile sig_atomic_t g_signal = 0;
int g_pipe[2] = {-1, -1};

void on_signal(int signo)
{
  if (g_signal == 0)
    g_signal = signo;
  if (g_pipe[1] >= 0) {
    char byte = 1;
    [[maybe_unused]] ssize_t ignored = ::write(g_pipe[1], &byte, 1);
  }
}
} // namespace

void install_interrupt_handlers()
{
  if (g_pipe[0] < 0 && ::pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
    g_pipe[0] = g_pipe[1] = -1;
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
  ::sigaction(SIGHUP, &action, nullptr);
}

int interrupt_signal()
{
  return g_signal;
}

int interrupt_fd()
{
  return g_pipe[0];
}

} // namespace kiln::util
