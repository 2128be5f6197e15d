#include "sandbox/network.hpp"

#include "sandbox/mounts.hpp"
#include "util/process.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace kiln::sandbox {

namespace {

constexpr int kReadySeconds = 20;

std::string failure(const std::string& what)
{
  return "sandbox: cannot " + what + ": " + std::strerror(errno);
}

std::string bring_up_loopback()
{
  Fd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  struct ifreq request {};
  std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
  if (sock.get() < 0 || ::ioctl(sock.get(), SIOCGIFFLAGS, &request) != 0)
    return failure("read the loopback interface");
  request.ifr_flags |= IFF_UP;
  if (::ioctl(sock.get(), SIOCSIFFLAGS, &request) != 0)
    return failure("bring up the loopback interface");
  return {};
}

void set_ipv4(struct sockaddr* address, const char* text)
{
  auto* in = reinterpret_cast<struct sockaddr_in*>(address);
  in->sin_family = AF_INET;
  ::inet_pton(AF_INET, text, &in->sin_addr);
}

// 169.254.0.0/16 answers "unreachable": the instance metadata service of AWS (169.254.169.254),
// and of most other clouds, lives there. The step cannot remove the route: it has no
// CAP_NET_ADMIN.
std::string reject_link_local()
{
  Fd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  struct rtentry route {};
  set_ipv4(&route.rt_dst, "169.254.0.0");
  set_ipv4(&route.rt_genmask, "255.255.0.0");
  set_ipv4(&route.rt_gateway, "0.0.0.0");
  route.rt_flags = RTF_UP | RTF_REJECT;
  char device[] = "lo";
  route.rt_dev = device;
  if (sock.get() < 0 || ::ioctl(sock.get(), SIOCADDRT, &route) != 0)
    return failure("add a reject route for 169.254.0.0/16");
  return {};
}

// Runs in the helper: back in the host's network namespace, in a mount namespace of its own (so
// that the step's pivot_root never moves it), it becomes slirp4netns for the step's namespace.
[[noreturn]] void run_slirp(const std::string& program, int host_ns, int step_ns, int ready_fd)
{
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::setns(host_ns, CLONE_NEWNET) != 0 || ::unshare(CLONE_NEWNS) != 0)
    ::_exit(126);
  int quiet = ::open("/dev/null", O_WRONLY);
  ::dup2(quiet, STDOUT_FILENO);
  ::dup2(quiet, STDERR_FILENO);
  // dup() leaves out O_CLOEXEC: these two must reach slirp4netns.
  int ready = ::dup(ready_fd);
  int ns = ::dup(step_ns);
  std::string ready_arg = "--ready-fd=" + std::to_string(ready);
  std::string ns_path = "/proc/self/fd/" + std::to_string(ns);
  const char* argv[] = {program.c_str(),
                        "--configure",
                        "--mtu=65520",
                        "--disable-host-loopback",
                        "--enable-sandbox",
                        "--enable-seccomp",
                        ready_arg.c_str(),
                        "--netns-type=path",
                        ns_path.c_str(),
                        "tap0",
                        nullptr};
  ::execv(program.c_str(), const_cast<char* const*>(argv));
  ::_exit(127);
}

std::string wait_ready(int ready_fd, pid_t helper)
{
  struct pollfd wait_for {
    ready_fd, POLLIN, 0
  };
  char byte = 0;
  if (::poll(&wait_for, 1, kReadySeconds * 1000) == 1 && ::read(ready_fd, &byte, 1) == 1 &&
      byte == '1')
    return {};
  ::kill(helper, SIGKILL);
  return "sandbox: slirp4netns did not set up the step's network within " +
         std::to_string(kReadySeconds) + " s (run it by hand to see why: slirp4netns --help)";
}

std::string isolate(int host_ns)
{
  std::string program = slirp4netns_path();
  if (program.empty())
    return "sandbox: a step's network needs slirp4netns, which is not installed (apt-get install "
           "slirp4netns), or give the step network: host";
  Fd step_ns(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
  int ready[2];
  if (step_ns.get() < 0 || ::pipe2(ready, O_CLOEXEC) != 0)
    return failure("prepare the step's network");
  pid_t helper = ::fork();
  if (helper < 0)
    return failure("start slirp4netns");
  if (helper == 0)
    run_slirp(program, host_ns, step_ns.get(), ready[1]);
  ::close(ready[1]);
  std::string error = wait_ready(ready[0], helper);
  ::close(ready[0]);
  if (!error.empty())
    return error;
  return reject_link_local();
}

} // namespace

std::string slirp4netns_path()
{
  return util::find_program("slirp4netns");
}

std::string enter_network(Network mode)
{
  if (mode == Network::host)
    return {};
  Fd host_ns(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
  if (host_ns.get() < 0)
    return failure("open the network namespace");
  if (::unshare(CLONE_NEWNET) != 0)
    return failure("create a network namespace");
  if (mode == Network::none)
    return bring_up_loopback();
  return isolate(host_ns.get());
}

} // namespace kiln::sandbox
