// A step's network: by default its own network namespace, with outbound access through
// slirp4netns (user-mode networking run by kiln on the host side) and nothing else.
//
// Inside, the step sees one interface (10.0.2.100/24), a gateway (10.0.2.2) and a DNS
// forwarder (10.0.2.3). slirp4netns runs with --disable-host-loopback, so the gateway does not
// lead to the build host's 127.0.0.1 services, and kiln adds a reject route for the link-local
// range 169.254.0.0/16, where clouds serve instance metadata and credentials. `none` gives the
// step a namespace with only a loopback interface. `host` (kiln's own trusted work, never a
// definition's) shares the build host's network.
#pragma once

#include <filesystem>
#include <string>

namespace kiln::sandbox {

enum class Network { isolated, none, host };

// The DNS server a step in an isolated network uses (slirp4netns' forwarder).
inline constexpr const char* kIsolatedDns = "10.0.2.3";

// Moves the calling process into a new network namespace set up as `mode` says (nothing for
// `host`). Must run before the process drops its capabilities or changes its root. Returns ""
// or what failed.
std::string enter_network(Network mode);

// Where slirp4netns is, or "" when it is not installed.
std::string slirp4netns_path();

} // namespace kiln::sandbox
