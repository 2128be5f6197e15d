// `kiln ci`'s decision: for the ref being built and each image of the repository, whether it is
// built and tested, published (as which version, moving which channel), left alone because
// nothing it is made from changed since its last published version, or refused, and why.
// Deciding builds nothing and writes nothing: `--dry-run` prints it, `ci/run` carries it out.
#pragma once

#include "ci/checkout.hpp"
#include "config/settings.hpp"
#include "store/store.hpp"
#include "util/error.hpp"

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace kiln::ci {

enum class Action {
  build,     // build and test; publish when `publish` is set
  unchanged, // the definition, its files and its base are those of `compared_with`
  skip,      // not this ref's image (a NAME/vX.Y.Z tag of another image)
  refuse,    // a wrong tag, or a release whose content changed under the same version
  invalid,   // the definition does not validate
};

std::string action_name(Action action);

struct ImagePlan {
  std::string name;
  std::filesystem::path definition; // relative to the checkout's root
  std::string definition_version;
  Action action = Action::build;
  bool publish = false;
  std::string version;       // what the build is versioned as (and published as)
  std::string channel;       // moved after publishing; empty: none
  std::string compared_with; // NAME@VERSION whose provenance was compared; empty: none
  std::string parent;        // the image a kiln:NAME@SELECTOR base names; empty: none
  std::string reason;
  bool suggest_bump = false; // refused: build anyway to say which bump the change needs
  std::map<std::string, std::string> published_packages; // of compared_with, for the bump
  std::vector<std::string> problems;                     // invalid: FILE:LINE:COL: message
};

struct Decision {
  Checkout checkout;
  Ref ref;
  std::optional<config::RefRule> rule; // nullopt: no rule matched (or a pull request)
  config::Publish publish = config::Publish::none;
  std::vector<ImagePlan> images;
  std::vector<std::string> notes; // a sanitized branch name, a dirty tree, ...
};

struct DecideOptions {
  Checkout checkout;        // read_checkout, with kiln ci's outputs ignored
  std::string explicit_ref; // --ref
  Environment env;          // the CI's variables
};

// `store` is null when none is configured or it does not exist yet: then nothing is compared
// (and publishing needs settings' store).
Expected<Decision> decide(const config::Settings& settings, const DecideOptions& options,
                          store::Store* store);

// The definitions the policy's globs name, relative to `root`, sorted; each must stay inside.
Expected<std::vector<std::filesystem::path>> find_images(const config::Policy& policy,
                                                         const std::filesystem::path& root);

nlohmann::json to_json(const Decision& decision);

} // namespace kiln::ci
