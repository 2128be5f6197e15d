#include "cli/commands.hpp"
#include "cli/release_options.hpp"
#include "release/verify.hpp"

#include <cstdio>

namespace kiln::cli {

using nlohmann::json;

namespace {

struct VerifyOptions : ReleaseOptions {
  std::string ref;
};

int run_verify(const VerifyOptions& options)
{
  auto opened = open_release(options);
  if (!opened)
    return report(opened.error());
  auto result = release::verify(*opened->store, opened->config, options.ref);
  if (!result)
    return report(result.error());
  if (options.json) {
    print_json({{"name", result->resolved.name},
                {"version", result->resolved.version},
                {"checked", result->checked},
                {"not_checked", result->skipped},
                {"warnings", result->warnings}});
    return 0;
  }
  for (const auto& line : result->checked)
    std::printf("ok       %s\n", line.c_str());
  for (const auto& line : result->skipped)
    std::printf("skipped  %s\n", line.c_str());
  for (const auto& line : result->warnings)
    std::printf("warning  %s\n", line.c_str());
  return 0;
}

} // namespace

Command add_verify(CLI::App& app)
{
  auto options = std::make_shared<VerifyOptions>();
  auto* sub = app.add_subcommand("verify", "Check a published version's signature, provenance "
                                           "and every byte");
  sub->add_option("ref", options->ref, "NAME@VERSION, NAME@CHANNEL or NAME@RANGE")->required();
  add_release_options(sub, *options, Keys::public_key);
  sub->footer(R"(Says what it checked: the version's signature (with a public key), its provenance
(readable, signed, naming every file by sha256), and every chunk and file against its digest.
Exit 0 when everything checked passed, 4 with the object at fault otherwise.

Examples:
  kiln verify linux-agent@prod --public-key release.pub
  kiln verify linux-agent@1.1.0 --json)");
  return {sub, [options] { return run_verify(*options); }};
}

} // namespace kiln::cli
