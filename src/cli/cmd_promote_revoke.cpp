#include "cli/commands.hpp"
#include "cli/release_options.hpp"
#include "release/channels.hpp"

#include <cstdio>

namespace kiln::cli {

using nlohmann::json;

namespace {

// The store and the one exact version (NAME@VERSION) that promote and revoke act on.
struct Target {
  OpenedStore opened;
  std::string name, version;
};

Expected<Target> open_target(const ReleaseOptions& options, const std::string& ref)
{
  size_t at = ref.find('@');
  if (at == std::string::npos || at == 0 || at + 1 == ref.size())
    return make_error(ExitCode::usage, "'" + ref + "' is not NAME@VERSION",
                      "name one version, e.g. linux-agent@1.1.0");
  auto opened = open_release(options);
  if (!opened)
    return std::move(opened).error();
  return Target{std::move(*opened), ref.substr(0, at), ref.substr(at + 1)};
}

struct PromoteOptions : ReleaseOptions {
  std::string ref, channel;
};

int run_promote(const PromoteOptions& options)
{
  auto target = open_target(options, options.ref);
  if (!target)
    return report(target.error());
  auto entry = release::promote(*target->opened.store, target->opened.config, target->name,
                                target->version, options.channel);
  if (!entry)
    return report(entry.error());
  bool unchanged = entry->previous == entry->version;
  if (options.json) {
    json out = release::to_json(*entry);
    out["unchanged"] = unchanged;
    print_json(out);
    return 0;
  }
  if (unchanged) {
    std::printf("%s: %s already points at %s; nothing changed\n", target->name.c_str(),
                options.channel.c_str(), target->version.c_str());
    return 0;
  }
  std::printf("%s: %s now points at %s (was %s)\n", target->name.c_str(), options.channel.c_str(),
              target->version.c_str(),
              entry->previous.empty() ? "nothing" : entry->previous.c_str());
  return 0;
}

struct RevokeOptions : ReleaseOptions {
  std::string ref, reason;
};

int run_revoke(const RevokeOptions& options)
{
  auto target = open_target(options, options.ref);
  if (!target)
    return report(target.error());
  auto result =
      release::revoke(*target->opened.store, target->name, target->version, options.reason);
  if (!result)
    return report(result.error());
  if (options.json) {
    json out = release::to_json(result->entry);
    out["already_revoked"] = result->already;
    out["channels"] = result->channels;
    print_json(out);
    return 0;
  }
  std::printf("%s %s\n", options.ref.c_str(),
              result->already ? "was already revoked; nothing changed" : "is revoked");
  for (const auto& channel : result->channels)
    std::printf("warning: channel %s still points at it: promote a good version to %s\n",
                channel.c_str(), channel.c_str());
  return 0;
}

} // namespace

Command add_promote(CLI::App& app)
{
  auto options = std::make_shared<PromoteOptions>();
  auto* sub = app.add_subcommand("promote", "Point a channel at a published version");
  sub->add_option("ref", options->ref, "NAME@VERSION")->required();
  sub->add_option("--to", options->channel, "The channel: dev, staging, prod or one of kiln.yaml")
      ->required();
  add_release_options(sub, *options, Keys::none);
  sub->footer(R"(A channel takes a version only when its rules allow (kiln.yaml; by default staging
needs passed tests, prod needs passed tests and an earlier stay in staging); a refusal exits 6
and says which rule. Every move is appended to the image's audit log with who, when and the
version the channel left: `kiln show NAME` prints it.

Examples:
  kiln promote linux-agent@1.1.0 --to staging
  kiln promote linux-agent@1.1.0 --to prod --json)");
  return {sub, [options] { return run_promote(*options); }};
}

Command add_revoke(CLI::App& app)
{
  auto options = std::make_shared<RevokeOptions>();
  auto* sub = app.add_subcommand("revoke", "Mark a published version as not to be used");
  sub->add_option("ref", options->ref, "NAME@VERSION")->required();
  sub->add_option("--reason", options->reason, "Why, for the audit log")->required();
  add_release_options(sub, *options, Keys::none);
  sub->footer(R"(pull refuses a revoked version unless --force, ranges skip it, and no channel
can be promoted to it. Channels that still point at it are reported. Revoking is recorded in the
audit log and cannot be undone: publish a fixed version instead.

Examples:
  kiln revoke linux-agent@1.1.0 --reason "CVE-2026-1234 in openssl")");
  return {sub, [options] { return run_revoke(*options); }};
}

} // namespace kiln::cli
