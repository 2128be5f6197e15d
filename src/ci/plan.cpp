#include "ci/plan.hpp"

#include "bake/inputs.hpp"
#include "bake/manifest_builder.hpp"
#include "ci/versioning.hpp"
#include "release/provenance.hpp"
#include "release/pull.hpp"
#include "release/version.hpp"
#include "spec/loader.hpp"
#include "util/semver.hpp"

#include <algorithm>
#include <glob.h>
#include <set>

namespace kiln::ci {

namespace fs = std::filesystem;
using config::Publish;
using nlohmann::json;

namespace {

constexpr size_t kMaxImages = 256;
constexpr size_t kMaxDirtyListed = 5;

bool inside(const fs::path& path, const fs::path& root)
{
  fs::path relative = path.lexically_relative(root);
  return !relative.empty() && *relative.begin() != "..";
}

// The newest published version of `name` of one kind: a pre-release track ("dev", "rc", a
// branch's), the release `exact`, or any version when both are empty.
Expected<std::optional<std::string>> newest_of(store::Store& store, const std::string& name,
                                               const std::string& track, const std::string& exact)
{
  auto versions = release::list_versions(store, name); // ascending
  if (!versions)
    return std::move(versions).error();
  for (auto it = versions->rbegin(); it != versions->rend(); ++it) {
    auto parsed = util::parse_version(*it);
    if (!parsed)
      continue;
    bool match = !exact.empty()  ? *it == exact
                 : track.empty() ? true
                                 : !parsed->prerelease.empty() && parsed->prerelease[0] == track;
    if (match)
      return std::optional<std::string>(*it);
  }
  return std::optional<std::string>();
}

// Which of the definition's files differ from those `built` read; empty when none does.
std::string changed_file(const bake::SourceDigests& now, const release::BuiltFrom& built)
{
  std::map<std::string, std::string> files;
  for (const auto& file : now.files)
    files[file.path] = file.sha256;
  for (const auto& [path, sha256] : files)
    if (auto was = built.inputs.find(path); was == built.inputs.end() || was->second != sha256)
      return path + " changed";
  for (const auto& [path, sha256] : built.inputs)
    if (!files.count(path))
      return path + " is no longer used";
  return "";
}

// Whether the base differs from the one `built` was made on: the version a kiln: parent
// resolves to now, or what a catalog: entry bootstraps now. Empty when it does not.
Expected<std::string> changed_base(store::Store& store, const config::Settings& settings,
                                   const spec::Definition& def, const release::BuiltFrom& built)
{
  if (def.base.image_store) {
    auto parent = release::resolve(store, settings.release, def.base.image_store->ref);
    if (!parent)
      return std::move(parent).error();
    std::string resolved = parent->name + "@" + parent->version;
    if (resolved != built.parent)
      return "its parent kiln:" + def.base.image_store->ref + " is now " + resolved +
             (built.parent.empty() ? "" : " (was " + built.parent + ")");
  } else if (built.bootstrap.is_object() &&
             bake::describe_bootstrap(def.base.bootstrap) != built.bootstrap) {
    // The definition is the same, so what it bootstraps came from elsewhere: the catalog.
    return def.base.catalog.empty() ? std::string("the base's bootstrap changed")
                                    : "the catalog's entry " + def.base.catalog + " changed";
  }
  return std::string();
}

// What differs between the definition (its text, its files, its base) and what `version` was
// built from; empty when nothing does. `packages` gets the version's packages.
Expected<std::string> what_changed(store::Store& store, const config::Settings& settings,
                                   const spec::Definition& def, const std::string& version,
                                   std::map<std::string, std::string>& packages)
{
  auto document = release::read_version(store, def.name, version);
  if (!document)
    return std::move(document).error();
  auto built = release::built_from(*document, settings.release.public_key);
  if (!built)
    return std::move(built).error();
  auto now = bake::source_digests(def);
  if (!now)
    return std::move(now).error();
  packages = built->packages;
  if (built->definition_sha256 != now->definition_sha256)
    return std::string("the definition changed");
  if (std::string file = changed_file(*now, *built); !file.empty())
    return file;
  return changed_base(store, settings, def, *built);
}

struct Planner {
  const config::Settings& settings;
  Decision& decision;
  store::Store* store;
  std::optional<ReleaseTag> tag;

  // The version the build gets, and for a release tag whether it is this image's.
  Status version_of(ImagePlan& plan)
  {
    if (decision.publish == Publish::release) {
      if (!tag->image.empty() && tag->image != plan.name) {
        plan.action = Action::skip;
        plan.reason = "tag " + decision.ref.name + " releases " + tag->image;
        return ok_status();
      }
      if (tag->version != plan.definition_version) {
        plan.action = Action::refuse;
        plan.reason = "tag " + decision.ref.name + " says " + tag->version + " but " +
                      plan.definition.string() + " has version: " + plan.definition_version +
                      "; tag the commit v" + plan.definition_version + " (or " + plan.name + "/v" +
                      plan.definition_version + "), or set version: " + tag->version;
        return ok_status();
      }
    }
    if (decision.publish == Publish::none) {
      plan.version = plan.definition_version; // built and tested as the definition says
      return ok_status();
    }
    int commits = 0;
    if (decision.publish != Publish::release) {
      auto counted =
          commits_since_version(decision.checkout, plan.definition, plan.definition_version);
      if (!counted)
        return std::move(counted).error();
      commits = *counted;
    }
    auto version = ci_version(decision.publish, plan.definition_version, commits,
                              decision.checkout.short_commit(), decision.ref.name);
    if (!version)
      return make_error(version.error().code,
                        plan.definition.string() + ": " + version.error().message,
                        version.error().hint);
    plan.version = *version;
    return ok_status();
  }

  // Against the newest published version of the same kind: unchanged, or (for a release whose
  // version exists with other content) refused.
  Status compare(ImagePlan& plan, const spec::Definition& def)
  {
    if (!store)
      return ok_status();
    bool release = decision.publish == Publish::release;
    auto baseline = newest_of(*store, plan.name, track_of(decision.publish, decision.ref.name),
                              release ? plan.version : "");
    if (!baseline)
      return std::move(baseline).error();
    if (!*baseline)
      return ok_status();
    plan.compared_with = plan.name + "@" + **baseline;
    auto changed = what_changed(*store, settings, def, **baseline, plan.published_packages);
    if (!changed) {
      decision.notes.push_back(plan.compared_with + " cannot be compared (" +
                               changed.error().message + "): " + plan.name + " is rebuilt");
      return ok_status();
    }
    if (changed->empty()) {
      plan.action = Action::unchanged;
      plan.reason = "the definition, its files and its base are those of " + plan.compared_with;
    } else if (release) {
      plan.action = Action::refuse;
      plan.suggest_bump = true;
      plan.reason = plan.compared_with + " is already published with other content (" + *changed +
                    "): raise " + plan.definition.string() + "'s version";
    } else {
      plan.reason = *changed + " since " + plan.compared_with;
    }
    return ok_status();
  }

  Expected<ImagePlan> plan(const fs::path& relative)
  {
    ImagePlan plan;
    plan.definition = relative;
    auto loaded = spec::load_definition(decision.checkout.root / relative, {settings.catalog});
    if (!loaded.definition) {
      plan.action = Action::invalid;
      plan.name = relative.parent_path().filename().string();
      for (const auto& d : loaded.diagnostics)
        plan.problems.push_back(d.str());
      plan.reason = "the definition does not validate";
      return plan;
    }
    const spec::Definition& def = *loaded.definition;
    plan.name = def.name;
    plan.definition_version = def.version;
    if (def.base.image_store)
      plan.parent = def.base.image_store->name();
    KILN_TRY(version_of(plan));
    if (plan.action != Action::build)
      return plan;
    KILN_TRY(compare(plan, def));
    if (plan.action != Action::build)
      return plan;
    to_build(plan);
    if (plan.reason.empty())
      plan.reason = store ? "not published before" : "no store to compare with";
    return plan;
  }

  void to_build(ImagePlan& plan) const
  {
    plan.action = Action::build;
    plan.publish = decision.publish != Publish::none;
    if (plan.publish && decision.rule)
      plan.channel = decision.rule->channel;
  }

  // An image whose kiln: parent is another image of the repository comes after it, and is
  // built when its parent is: the parent's channel may move in this very run, after the
  // comparison above was made. A cycle is left in the definitions' order (the build says why
  // it cannot pull the parent).
  void follow_parents()
  {
    std::vector<ImagePlan> ordered, waiting = std::move(decision.images);
    std::set<std::string> placed, all;
    for (const auto& plan : waiting)
      all.insert(plan.name);
    while (!waiting.empty()) {
      auto ready = std::find_if(waiting.begin(), waiting.end(), [&](const ImagePlan& plan) {
        return plan.parent.empty() || !all.count(plan.parent) || placed.count(plan.parent);
      });
      if (ready == waiting.end())
        ready = waiting.begin();
      ImagePlan plan = std::move(*ready);
      waiting.erase(ready);
      auto parent = std::find_if(ordered.begin(), ordered.end(),
                                 [&](const ImagePlan& p) { return p.name == plan.parent; });
      if (plan.action == Action::unchanged && parent != ordered.end() &&
          parent->action == Action::build) {
        to_build(plan);
        plan.reason = "its parent " + plan.parent + " is rebuilt in this run";
      }
      placed.insert(plan.name);
      ordered.push_back(std::move(plan));
    }
    decision.images = std::move(ordered);
  }
};

// The rule for the ref, and what its publishing needs: a store, a clean tree, a release tag.
Status apply_rule(const config::Settings& settings, Decision& decision,
                  std::optional<ReleaseTag>& tag)
{
  const Ref& ref = decision.ref;
  if (ref.kind == Ref::Kind::pull_request) {
    decision.notes.push_back("a pull request is built and tested, never published");
    return ok_status();
  }
  auto kind =
      ref.kind == Ref::Kind::tag ? config::RefRule::Kind::tag : config::RefRule::Kind::branch;
  if (const auto* rule = config::match_rule(settings.policy, kind, ref.name))
    decision.rule = *rule;
  decision.publish = decision.rule ? decision.rule->publish : Publish::none;
  if (decision.publish == Publish::none)
    return ok_status();
  if (settings.release.store.empty())
    return make_error(ExitCode::usage,
                      "the policy publishes for " + ref.describe() + " but no store is configured",
                      "set store: in kiln.yaml, or KILN_STORE");
  if (!decision.checkout.dirty.empty()) {
    std::string files;
    for (size_t i = 0; i < decision.checkout.dirty.size() && i < kMaxDirtyListed; ++i)
      files += (i ? ", " : "") + decision.checkout.dirty[i];
    return make_error(ExitCode::refused,
                      "the checkout has changes that are not committed (" + files +
                          "): kiln ci publishes only what a commit holds",
                      "commit or remove them; --dry-run shows what would happen");
  }
  if (decision.publish == Publish::release) {
    tag = parse_release_tag(ref.name);
    if (!tag)
      return make_error(ExitCode::usage,
                        "tag '" + ref.name + "' is not vX.Y.Z or NAME/vX.Y.Z: nothing is released",
                        "tag the commit e.g. v1.4.0; pre-releases come from branches");
  }
  if (decision.publish == Publish::branch) {
    std::string identifier = prerelease_identifier(ref.name);
    if (identifier != ref.name && !identifier.empty())
      decision.notes.push_back("branch '" + ref.name +
                               "' is not a semver pre-release identifier: its versions use '" +
                               identifier + "' (letters, digits and '-' only)");
  }
  return ok_status();
}

} // namespace

std::string action_name(Action action)
{
  switch (action) {
  case Action::build:
    return "build";
  case Action::unchanged:
    return "unchanged";
  case Action::skip:
    return "skip";
  case Action::refuse:
    return "refuse";
  case Action::invalid:
    return "invalid";
  }
  return "";
}

Expected<std::vector<fs::path>> find_images(const config::Policy& policy, const fs::path& root)
{
  std::set<fs::path> found;
  for (const auto& pattern : policy.images) {
    glob_t matches{};
    int rc = ::glob((root / pattern).c_str(), GLOB_NOSORT, nullptr, &matches);
    for (size_t i = 0; rc == 0 && i < matches.gl_pathc; ++i) {
      fs::path match = matches.gl_pathv[i];
      std::error_code ec;
      if (fs::is_directory(match, ec))
        match /= "image.yaml";
      if (!fs::is_regular_file(match, ec))
        continue;
      fs::path real = fs::weakly_canonical(match, ec);
      if (ec || !inside(real, root)) {
        globfree(&matches);
        return make_error(ExitCode::input,
                          match.string() + " leads outside the repository (to " + real.string() +
                              ")",
                          "ci.images may only name definitions inside the repository");
      }
      found.insert(match.lexically_relative(root));
    }
    globfree(&matches);
  }
  if (found.size() > kMaxImages)
    return make_error(ExitCode::input,
                      "ci.images names over " + std::to_string(kMaxImages) + " definitions");
  return std::vector<fs::path>(found.begin(), found.end());
}

Expected<Decision> decide(const config::Settings& settings, const DecideOptions& options,
                          store::Store* store)
{
  Decision decision;
  decision.checkout = options.checkout;
  auto ref = ref_of(decision.checkout, options.env, options.explicit_ref);
  if (!ref)
    return std::move(ref).error();
  decision.ref = *ref;
  std::optional<ReleaseTag> tag;
  KILN_TRY(apply_rule(settings, decision, tag));
  if (!decision.checkout.dirty.empty())
    decision.notes.push_back("the checkout has " + std::to_string(decision.checkout.dirty.size()) +
                             " changed or untracked files");
  auto images = find_images(settings.policy, decision.checkout.root);
  if (!images)
    return std::move(images).error();
  if (images->empty())
    return make_error(ExitCode::input,
                      "no definitions in " + decision.checkout.root.string() +
                          " match ci.images (" + json(settings.policy.images).dump() + ")",
                      "set ci.images in kiln.yaml; `kiln ci --show-policy` shows the policy");
  Planner planner{settings, decision, store, tag};
  for (const auto& relative : *images) {
    auto plan = planner.plan(relative);
    if (!plan)
      return std::move(plan).error();
    decision.images.push_back(std::move(*plan));
  }
  planner.follow_parents();
  return decision;
}

json to_json(const Decision& d)
{
  json images = json::array();
  for (const auto& p : d.images)
    images.push_back(
        {{"name", p.name},
         {"definition", p.definition.string()},
         {"definition_version", p.definition_version},
         {"action", action_name(p.action)},
         {"publish", p.publish},
         {"version", p.version},
         {"channel", p.channel.empty() ? json(nullptr) : json(p.channel)},
         {"compared_with", p.compared_with.empty() ? json(nullptr) : json(p.compared_with)},
         {"reason", p.reason},
         {"problems", p.problems}});
  json rule = nullptr;
  if (d.rule)
    rule = {{d.rule->kind == config::RefRule::Kind::branch ? "branch" : "tag", d.rule->pattern},
            {"from", d.rule->where}};
  return {{"commit", d.checkout.commit},
          {"ref",
           {{"kind", d.ref.kind == Ref::Kind::branch ? "branch"
                     : d.ref.kind == Ref::Kind::tag  ? "tag"
                                                     : "pull_request"},
            {"name", d.ref.name},
            {"from", d.ref.source}}},
          {"dirty", d.checkout.dirty},
          {"rule", rule},
          {"publish", config::publish_name(d.publish)},
          {"images", images},
          {"notes", d.notes}};
}

} // namespace kiln::ci
