// What `kiln ci` knows of the checkout it runs in, read with libgit2: the commit, the branch or
// the tags at HEAD, whether the tree is clean, whether the clone is shallow; the ref being built
// (from the checkout, or from the CI's own variables when HEAD is detached); and how many commits
// a definition's version has stood for.
#pragma once

#include "util/error.hpp"

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kiln::ci {

struct Checkout {
  std::filesystem::path root;        // the work tree
  std::string commit;                // HEAD, 40 hex digits
  std::optional<std::string> branch; // nullopt: HEAD is detached
  std::vector<std::string> tags;     // tags whose commit is HEAD
  std::vector<std::string> dirty;    // changed or untracked files (not ignored ones)
  bool shallow = false;

  std::string short_commit() const { return commit.substr(0, 12); }
};

// The checkout holding `dir`. Files below `ignore` (kiln ci's own outputs) do not make it dirty.
Expected<Checkout> read_checkout(const std::filesystem::path& dir,
                                 const std::filesystem::path& ignore = {});

struct Ref {
  enum class Kind { branch, tag, pull_request };
  Kind kind = Kind::branch;
  std::string name;   // main, release/1.2, v1.2.0; for a pull request its source branch
  std::string target; // a pull request's target branch, when known
  std::string source; // where it came from: "--ref", "the checkout", "BUILD_SOURCEBRANCH", ...

  std::string describe() const; // "branch main", "tag v1.2.0", "pull request from feature/x"
};

using Environment = std::map<std::string, std::string>;

// The environment variables ref_of reads (Azure Pipelines and GitHub Actions).
Environment ci_environment();

// The ref being built: `explicit_ref` (refs/heads/X, refs/tags/X, refs/pull/N/merge) when given,
// else the checked-out branch, else the CI's variables, else a tag at HEAD. A detached HEAD with
// none of these is an error that says what to set.
Expected<Ref> ref_of(const Checkout& checkout, const Environment& env,
                     const std::string& explicit_ref = "");

// The commits on HEAD's first-parent line since `definition` (relative to the root) last had
// another `version:` than `version`: 0 when HEAD itself set it. A shallow clone that ends before
// that commit is an error that says how to fetch the history.
Expected<int> commits_since_version(const Checkout& checkout,
                                    const std::filesystem::path& definition,
                                    const std::string& version);

} // namespace kiln::ci
