#include "cli/commands.hpp"
#include "util/signing.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace kiln::cli {

namespace {

struct KeyOptions {
  std::string dir = ".";
  std::string name = "kiln-signing";
  bool json = false;
};

int run_generate(const KeyOptions& options)
{
  auto files = util::generate_signing_key(options.dir, options.name);
  if (!files)
    return report(files.error());
  auto fingerprint = util::key_fingerprint(files->public_key);
  if (!fingerprint)
    return report(fingerprint.error());
  if (options.json) {
    nlohmann::json out = {{"private_key", files->private_key.string()},
                          {"public_key", files->public_key.string()},
                          {"fingerprint", *fingerprint}};
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("private key  %s (keep it secret: mode 0600)\npublic key   %s\n"
                "fingerprint  %s\n",
                files->private_key.c_str(), files->public_key.c_str(), fingerprint->c_str());
  }
  return 0;
}

} // namespace

Command add_key(CLI::App& app)
{
  auto options = std::make_shared<KeyOptions>();
  auto* sub = app.add_subcommand("key", "Manage the Ed25519 key that signs published images");
  sub->require_subcommand(1);
  auto* generate = sub->add_subcommand("generate", "Make a new signing key pair");
  generate->add_option("--dir", options->dir, "Where to write the key files (default: .)");
  generate->add_option("--name", options->name, "File name stem (default: kiln-signing)");
  generate->add_flag("--json", options->json, "Print the files and fingerprint as JSON");
  sub->footer(R"(Writes NAME.key (PKCS#8 PEM, mode 0600) and NAME.pub; never overwrites a key.
The private key signs what kiln publishes; deployers verify with the public key.

Examples:
  kiln key generate --dir ~/.config/kiln
  kiln key generate --name agents-prod --json)");
  return {sub, [options] { return run_generate(*options); }};
}

} // namespace kiln::cli
