#include "ci/plan.hpp"
#include "ci/run.hpp"
#include "cli/commands.hpp"
#include "cli/release_options.hpp"
#include "store/open.hpp"
#include "util/fs.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <unistd.h>

namespace kiln::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct CiOptions {
  std::string ref, out = ".kiln-ci", store;
  bool dry_run = false, show_policy = false, json = false;
};

int show_policy(const config::Settings& settings, bool as_json)
{
  json policy = config::to_json(settings.policy);
  if (as_json) {
    print_json(policy);
    return 0;
  }
  std::printf("policy from %s\nimages: %s\n", settings.policy.where.c_str(),
              policy["images"].dump().c_str());
  std::printf("%-28s %-9s %-9s %s\n", "REF", "PUBLISH", "CHANNEL", "RULE");
  for (const auto& rule : settings.policy.rules) {
    std::string ref =
        (rule.kind == config::RefRule::Kind::branch ? "branch " : "tag ") + rule.pattern;
    std::printf("%-28s %-9s %-9s %s\n", ref.c_str(), config::publish_name(rule.publish).c_str(),
                rule.channel.empty() ? "-" : rule.channel.c_str(), rule.where.c_str());
  }
  std::printf("%-28s %-9s %-9s %s\n", "pull requests", "none", "-", "always");
  std::printf("%-28s %-9s %-9s %s\n", "any other ref", "none", "-", "always");
  std::printf("every ref: validate, build and test the images whose definition or files changed "
              "since their last published version\n");
  return 0;
}

void print_table(const ci::Decision& decision, const ci::Summary& summary)
{
  std::printf("kiln ci: %s at %s (from %s): publish %s\n", decision.ref.describe().c_str(),
              decision.checkout.short_commit().c_str(), decision.ref.source.c_str(),
              config::publish_name(decision.publish).c_str());
  std::printf("%-20s %-10s %-36s %-8s %s\n", "IMAGE", "RESULT", "VERSION", "CHANNEL", "DETAIL");
  for (const auto& image : summary.images) {
    std::string detail =
        image.bump.empty() ? image.detail : image.detail + "; suggested bump: " + image.bump;
    std::printf("%-20s %-10s %-36s %-8s %s\n", image.name.c_str(), image.result.c_str(),
                image.version.c_str(), image.channel.empty() ? "-" : image.channel.c_str(),
                detail.c_str());
  }
}

// Appends lines to the file a CI variable names, if it is set.
void append_to(const char* variable, const std::string& text)
{
  const char* file = std::getenv(variable);
  if (!file || !*file)
    return;
  std::ofstream out(file, std::ios::app);
  out << text;
  if (!out)
    std::fprintf(stderr, "kiln: warning: cannot write %s (%s)\n", file, variable);
}

void set_pipeline_variables(const ci::Decision& decision, const ci::Summary& summary, bool json)
{
  if (const char* azure = std::getenv("TF_BUILD"); azure && *azure)
    for (const auto& line : ci::azure_variables(summary))
      std::fprintf(json ? stderr : stdout, "%s\n", line.c_str());
  std::string outputs;
  for (const auto& line : ci::github_outputs(summary))
    outputs += line + "\n";
  append_to("GITHUB_OUTPUT", outputs);
  append_to("GITHUB_STEP_SUMMARY", ci::markdown_summary(decision, summary));
}

// The store, when one is configured and can be opened; nullptr otherwise (kiln publish creates
// it). Without it nothing is compared, so every image is built.
std::unique_ptr<store::Store> open_configured_store(const config::Settings& settings)
{
  if (settings.release.store.empty())
    return nullptr;
  auto store =
      store::open_store(settings.release.store, store::OpenMode::existing, settings.remote);
  if (store)
    return std::move(*store);
  std::fprintf(stderr, "kiln ci: note: %s; nothing to compare with, every image is built\n",
               store.error().message.c_str());
  return nullptr;
}

int run_ci(const CiOptions& options)
{
  fs::path out_root = fs::absolute(options.out);
  auto checkout = ci::read_checkout(".", out_root);
  if (!checkout)
    return report(checkout.error());
  if (::chdir(checkout->root.c_str()) != 0) // ./kiln.yaml is the repository's, for every step
    return report(errno_error("cannot enter", checkout->root.string(), errno));
  auto settings = config::load({"", {{"store", options.store, "--store"}}});
  if (!settings)
    return report(settings.error());
  if (options.show_policy)
    return show_policy(*settings, options.json);
  auto store = open_configured_store(*settings);
  auto decision =
      ci::decide(*settings, {*checkout, options.ref, ci::ci_environment()}, store.get());
  if (!decision)
    return report(decision.error());
  store.reset(); // the commands below open it themselves
  for (const auto& note : decision->notes)
    std::fprintf(stderr, "kiln ci: note: %s\n", note.c_str());
  ci::RunOptions run{fs::read_symlink("/proc/self/exe"), out_root, options.dry_run, {}, {}};
  if (!options.store.empty())
    run.store_args = {"--store", options.store};
  run.line = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
  ci::Summary summary = ci::carry_out(*decision, run);
  json result = ci::to_json(*decision, summary);
  result["dry_run"] = options.dry_run;
  std::error_code ec;
  fs::create_directories(out_root, ec);
  if (Status written = util::write_file_atomic(out_root / "ci-summary.json", result.dump(2) + "\n");
      !written)
    std::fprintf(stderr, "kiln: warning: %s\n", written.error().message.c_str());
  if (options.json)
    print_json(result);
  else
    print_table(*decision, summary);
  if (!options.dry_run)
    set_pipeline_variables(*decision, summary, options.json);
  return summary.exit_code;
}

} // namespace

Command add_ci(CLI::App& app)
{
  auto options = std::make_shared<CiOptions>();
  auto* sub = app.add_subcommand(
      "ci", "Build, test, publish and promote the repository's images as its branch policy says");
  sub->add_option("--ref", options->ref,
                  "The ref being built: refs/heads/BRANCH, refs/tags/TAG or refs/pull/N/merge "
                  "(default: the checkout's branch, the CI's variables, a tag at HEAD)");
  sub->add_option("--out", options->out,
                  "Where images are built (OUT/NAME) and ci-summary.json written (default: "
                  ".kiln-ci in the current folder)");
  sub->add_option("--store", options->store, "The store (default: KILN_STORE, or kiln.yaml)");
  sub->add_flag("--dry-run", options->dry_run, "Show the decision; build and publish nothing");
  sub->add_flag("--show-policy", options->show_policy,
                "Print the branch policy in force (kiln.yaml's ci:, or the default) and exit");
  sub->add_flag("--json", options->json, "Print the decision and the outcomes as JSON");
  sub->footer(R"(Run in a clone of an images repository (kiln.yaml at its root). For the ref being
built, each image of ci.images is validated, built and tested; the policy says what is
published and which channel moves. Only images whose definition, files or base
changed since their last published version of that kind are rebuilt (compared with that
version's provenance: a kiln: parent by the version its reference resolves to now, a catalog:
base by what the entry bootstraps now), and an image whose parent is another image of the
repository is built after it, whenever it is.

The default policy (kiln ci --show-policy):
  any branch, pull request   validate, build, test; nothing published
  main                       publish X.Y.Z-dev.N+gSHA, move channel dev
  release/*                  publish X.Y.Z-rc.N+gSHA, move channel staging
  tag vX.Y.Z, NAME/vX.Y.Z    publish X.Y.Z (the definition's version); prod moves only with
                             kiln promote, through its rules
N counts the commits since the definition's version last changed, so one branch's versions
always increase. Publishing needs a clean checkout with its history (not a shallow clone).

kiln.yaml:
  ci:
    images: [images/*/image.yaml]
    refs:
      - {branch: main, publish: dev, channel: dev}
      - {branch: release/*, publish: rc, channel: staging}
      - {branch: feature/*, publish: branch}   # X.Y.Z-feature-x.N+gSHA
      - {tag: "v*", publish: release}

Outputs: a table (or --json), OUT/ci-summary.json, Azure Pipelines variables
(KILN_PUBLISHED, KILN_NAME_VERSION, KILN_NAME_RESULT) when TF_BUILD is set, and GitHub
Actions step outputs ($GITHUB_OUTPUT) and a job summary ($GITHUB_STEP_SUMMARY).
Exit codes: 0 done, 1 a build failed, 3 a definition is invalid, 6 refused.

Examples:
  kiln ci --dry-run
  kiln ci --show-policy
  BUILD_SOURCEBRANCH=refs/heads/main kiln ci --store s3://images/kiln)");
  return {sub, [options] { return run_ci(*options); }};
}

} // namespace kiln::cli
