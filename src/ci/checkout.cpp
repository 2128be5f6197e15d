#include "ci/checkout.hpp"

#include "util/yaml.hpp"

#include <git2.h>
#include <memory>

namespace kiln::ci {

namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxDefinitionBlob = 1 << 20; // as spec::kMaxDefinitionBytes
constexpr int kMaxWalk = 100000;               // commits looked at for one version

const char* const kFetchHint =
    "fetch the history and the tags: git fetch --unshallow --tags (Azure Pipelines: "
    "`- checkout: self` with `fetchDepth: 0` and `fetchTags: true`; GitHub Actions: "
    "actions/checkout with `fetch-depth: 0`)";

struct Library {
  Library() { git_libgit2_init(); }
  ~Library() { git_libgit2_shutdown(); }
};

template <typename T, void (*Free)(T*)> struct Freer {
  void operator()(T* p) const { Free(p); }
};
template <typename T, void (*Free)(T*)> using Owned = std::unique_ptr<T, Freer<T, Free>>;
using Repository = Owned<git_repository, git_repository_free>;
using Reference = Owned<git_reference, git_reference_free>;
using Commit = Owned<git_commit, git_commit_free>;
using Tree = Owned<git_tree, git_tree_free>;
using TreeEntry = Owned<git_tree_entry, git_tree_entry_free>;
using Blob = Owned<git_blob, git_blob_free>;
using Object = Owned<git_object, git_object_free>;
using Walk = Owned<git_revwalk, git_revwalk_free>;
using StatusList = Owned<git_status_list, git_status_list_free>;

Error libgit2_error(const std::string& what)
{
  const ::git_error* e = git_error_last();
  return make_error(ExitCode::input,
                    what + ": " + (e && e->message ? e->message : "libgit2 failed"));
}

std::string hex(const git_oid* oid)
{
  char text[GIT_OID_HEXSZ + 1];
  git_oid_tostr(text, sizeof text, oid);
  return text;
}

Expected<Repository> open_repository(const fs::path& dir)
{
  static Library library;
  git_repository* raw = nullptr;
  if (git_repository_open_ext(&raw, dir.c_str(), 0, nullptr) != 0)
    return make_error(ExitCode::input, dir.string() + " is not in a git checkout",
                      "kiln ci runs in a clone of the images repository");
  Repository repo(raw);
  if (git_repository_is_bare(repo.get()))
    return make_error(ExitCode::input, dir.string() + " is a bare repository",
                      "kiln ci runs in a clone with a work tree");
  return repo;
}

Expected<Repository> open_checkout(const Checkout& checkout)
{
  return open_repository(checkout.root);
}

Status read_status(git_repository* repo, const fs::path& root, const fs::path& ignore,
                   Checkout& checkout)
{
  git_status_options options = GIT_STATUS_OPTIONS_INIT;
  options.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
  options.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS |
                  GIT_STATUS_OPT_EXCLUDE_SUBMODULES;
  git_status_list* raw = nullptr;
  if (git_status_list_new(&raw, repo, &options) != 0)
    return libgit2_error("cannot read the checkout's status");
  StatusList list(raw);
  std::string skip;
  if (!ignore.empty()) {
    fs::path relative = fs::weakly_canonical(ignore).lexically_relative(root);
    if (!relative.empty() && *relative.begin() != "..")
      skip = relative.string() + "/";
  }
  for (size_t i = 0, n = git_status_list_entrycount(list.get()); i < n; ++i) {
    const git_status_entry* entry = git_status_byindex(list.get(), i);
    if (entry->status == GIT_STATUS_CURRENT || (entry->status & GIT_STATUS_IGNORED))
      continue;
    const git_diff_delta* delta =
        entry->index_to_workdir ? entry->index_to_workdir : entry->head_to_index;
    std::string path = delta && delta->new_file.path ? delta->new_file.path : "?";
    if (!skip.empty() && path.rfind(skip, 0) == 0)
      continue;
    checkout.dirty.push_back(path);
  }
  return ok_status();
}

Status read_tags(git_repository* repo, const git_oid* head, Checkout& checkout)
{
  git_strarray names{};
  if (git_tag_list(&names, repo) != 0)
    return libgit2_error("cannot list the tags");
  for (size_t i = 0; i < names.count; ++i) {
    std::string spec = std::string("refs/tags/") + names.strings[i] + "^{commit}";
    git_object* raw = nullptr;
    if (git_revparse_single(&raw, repo, spec.c_str()) != 0)
      continue; // a tag of something that is not a commit
    Object target(raw);
    if (git_oid_equal(git_object_id(target.get()), head))
      checkout.tags.push_back(names.strings[i]);
  }
  git_strarray_dispose(&names);
  return ok_status();
}

// "refs/heads/main" and the like, as a ref.
std::optional<Ref> parse_full_ref(const std::string& full, const std::string& source)
{
  auto after = [&](const std::string& prefix) -> std::optional<std::string> {
    if (full.rfind(prefix, 0) == 0 && full.size() > prefix.size())
      return full.substr(prefix.size());
    return std::nullopt;
  };
  if (auto name = after("refs/heads/"))
    return Ref{Ref::Kind::branch, *name, "", source};
  if (auto name = after("refs/tags/"))
    return Ref{Ref::Kind::tag, *name, "", source};
  if (auto name = after("refs/pull/")) // refs/pull/N/merge
    return Ref{Ref::Kind::pull_request, "pr-" + name->substr(0, name->find('/')), "", source};
  return std::nullopt;
}

std::string get(const Environment& env, const std::string& name)
{
  auto found = env.find(name);
  return found == env.end() ? "" : found->second;
}

std::string short_branch(const std::string& ref)
{
  const std::string prefix = "refs/heads/";
  return ref.rfind(prefix, 0) == 0 ? ref.substr(prefix.size()) : ref;
}

// A pull request or a pushed ref, as Azure Pipelines or GitHub Actions describe it.
std::optional<Ref> ref_from_ci(const Environment& env)
{
  if (!get(env, "SYSTEM_PULLREQUEST_PULLREQUESTID").empty() ||
      get(env, "BUILD_REASON") == "PullRequest") {
    std::string source = short_branch(get(env, "SYSTEM_PULLREQUEST_SOURCEBRANCH"));
    return Ref{Ref::Kind::pull_request,
               source.empty() ? "pr-" + get(env, "SYSTEM_PULLREQUEST_PULLREQUESTID") : source,
               short_branch(get(env, "SYSTEM_PULLREQUEST_TARGETBRANCH")), "SYSTEM_PULLREQUEST_*"};
  }
  if (std::string full = get(env, "BUILD_SOURCEBRANCH"); !full.empty())
    return parse_full_ref(full, "BUILD_SOURCEBRANCH");
  std::string event = get(env, "GITHUB_EVENT_NAME");
  if (event == "pull_request" || event == "pull_request_target")
    return Ref{Ref::Kind::pull_request, get(env, "GITHUB_HEAD_REF"), get(env, "GITHUB_BASE_REF"),
               "GITHUB_EVENT_NAME, GITHUB_HEAD_REF"};
  if (std::string full = get(env, "GITHUB_REF"); !full.empty())
    return parse_full_ref(full, "GITHUB_REF");
  return std::nullopt;
}

// The `version:` of a definition as `commit` has it; "" when the file is absent or unreadable.
std::string version_at(git_repository* repo, const git_oid* commit_id, const std::string& path)
{
  git_commit* raw_commit = nullptr;
  if (git_commit_lookup(&raw_commit, repo, commit_id) != 0)
    return "";
  Commit commit(raw_commit);
  git_tree* raw_tree = nullptr;
  if (git_commit_tree(&raw_tree, commit.get()) != 0)
    return "";
  Tree tree(raw_tree);
  git_tree_entry* raw_entry = nullptr;
  if (git_tree_entry_bypath(&raw_entry, tree.get(), path.c_str()) != 0)
    return "";
  TreeEntry entry(raw_entry);
  if (git_tree_entry_type(entry.get()) != GIT_OBJECT_BLOB)
    return "";
  git_blob* raw_blob = nullptr;
  if (git_blob_lookup(&raw_blob, repo, git_tree_entry_id(entry.get())) != 0)
    return "";
  Blob blob(raw_blob);
  if (git_blob_rawsize(blob.get()) > static_cast<git_object_size_t>(kMaxDefinitionBlob))
    return "";
  std::string_view text(static_cast<const char*>(git_blob_rawcontent(blob.get())),
                        static_cast<size_t>(git_blob_rawsize(blob.get())));
  auto parsed = util::parse_yaml(text);
  const auto* node = std::get_if<YAML::Node>(&parsed);
  if (!node || !node->IsMap() || !(*node)["version"] || !(*node)["version"].IsScalar())
    return "";
  return (*node)["version"].Scalar();
}

unsigned parent_count(git_repository* repo, const git_oid* id)
{
  git_commit* raw = nullptr;
  if (git_commit_lookup(&raw, repo, id) != 0)
    return 0;
  Commit commit(raw);
  return git_commit_parentcount(commit.get());
}

} // namespace

std::string Ref::describe() const
{
  switch (kind) {
  case Kind::branch:
    return "branch " + name;
  case Kind::tag:
    return "tag " + name;
  case Kind::pull_request:
    return "pull request from " + name + (target.empty() ? "" : " into " + target);
  }
  return name;
}

Expected<Checkout> read_checkout(const fs::path& dir, const fs::path& ignore)
{
  auto repo = open_repository(dir);
  if (!repo)
    return std::move(repo).error();
  Checkout checkout;
  const char* workdir = git_repository_workdir(repo->get());
  checkout.root = fs::weakly_canonical(workdir ? fs::path(workdir) : dir);
  checkout.shallow = git_repository_is_shallow(repo->get()) == 1;
  git_reference* raw_head = nullptr;
  if (git_repository_head(&raw_head, repo->get()) != 0)
    return make_error(ExitCode::input, checkout.root.string() + " has no commit at HEAD",
                      "commit the definitions first");
  Reference head(raw_head);
  git_object* raw = nullptr;
  if (git_reference_peel(&raw, head.get(), GIT_OBJECT_COMMIT) != 0)
    return libgit2_error("cannot read HEAD's commit");
  Object commit(raw);
  checkout.commit = hex(git_object_id(commit.get()));
  if (git_repository_head_detached(repo->get()) != 1)
    checkout.branch = git_reference_shorthand(head.get());
  KILN_TRY(read_tags(repo->get(), git_object_id(commit.get()), checkout));
  KILN_TRY(read_status(repo->get(), checkout.root, ignore, checkout));
  return checkout;
}

Environment ci_environment()
{
  Environment env;
  for (const char* name : {"BUILD_SOURCEBRANCH", "BUILD_REASON", "SYSTEM_PULLREQUEST_PULLREQUESTID",
                           "SYSTEM_PULLREQUEST_SOURCEBRANCH", "SYSTEM_PULLREQUEST_TARGETBRANCH",
                           "GITHUB_REF", "GITHUB_HEAD_REF", "GITHUB_BASE_REF", "GITHUB_EVENT_NAME"})
    if (const char* value = std::getenv(name); value && *value)
      env[name] = value;
  return env;
}

Expected<Ref> ref_of(const Checkout& checkout, const Environment& env,
                     const std::string& explicit_ref)
{
  if (!explicit_ref.empty()) {
    auto ref = parse_full_ref(explicit_ref, "--ref");
    if (!ref)
      return make_error(ExitCode::usage, "--ref '" + explicit_ref + "' is not a full ref name",
                        "write refs/heads/BRANCH, refs/tags/TAG or refs/pull/N/merge");
    return *ref;
  }
  if (checkout.branch)
    return Ref{Ref::Kind::branch, *checkout.branch, "", "the checkout"};
  if (auto ref = ref_from_ci(env)) {
    if (ref->name.empty())
      return make_error(ExitCode::input, "the CI's variables (" + ref->source +
                                             ") do not name the branch being built");
    return *ref;
  }
  if (checkout.tags.size() == 1)
    return Ref{Ref::Kind::tag, checkout.tags.front(), "", "the tag at HEAD"};
  std::string why = checkout.tags.empty()
                        ? "no CI variables name the ref and no tag points at it"
                        : "no CI variables name the ref and several tags point at it";
  return make_error(ExitCode::usage, "HEAD is detached at " + checkout.short_commit() + ": " + why,
                    "check out the branch, or set BUILD_SOURCEBRANCH (Azure Pipelines) or "
                    "GITHUB_REF (GitHub Actions), or pass --ref refs/heads/BRANCH");
}

Expected<int> commits_since_version(const Checkout& checkout, const fs::path& definition,
                                    const std::string& version)
{
  auto repo = open_checkout(checkout);
  if (!repo)
    return std::move(repo).error();
  git_revwalk* raw = nullptr;
  if (git_revwalk_new(&raw, repo->get()) != 0)
    return libgit2_error("cannot walk the history");
  Walk walk(raw);
  git_revwalk_sorting(walk.get(), GIT_SORT_TOPOLOGICAL);
  git_revwalk_simplify_first_parent(walk.get());
  git_oid head;
  git_oid_fromstr(&head, checkout.commit.c_str());
  if (git_revwalk_push(walk.get(), &head) != 0)
    return libgit2_error("cannot walk the history from HEAD");
  std::string path = definition.generic_string();
  auto shallow_error = [&] {
    return make_error(ExitCode::input,
                      "the clone is shallow: its history ends before the commit that set " + path +
                          "'s version " + version + ", so the commits since then cannot be counted",
                      kFetchHint);
  };
  git_oid id;
  int seen = 0;
  int result = 0;
  while ((result = git_revwalk_next(&id, walk.get())) == 0) {
    if (version_at(repo->get(), &id, path) != version)
      return seen - 1 < 0 ? 0 : seen - 1;
    if (++seen > kMaxWalk)
      return make_error(ExitCode::input, path + "'s version " + version + " stands for over " +
                                             std::to_string(kMaxWalk) + " commits");
    if (checkout.shallow && parent_count(repo->get(), &id) == 0)
      return shallow_error();
  }
  if (result != GIT_ITEROVER)
    return checkout.shallow ? Expected<int>(shallow_error())
                            : Expected<int>(libgit2_error("cannot walk the history"));
  if (checkout.shallow)
    return shallow_error();
  return seen - 1; // the version was set by the first commit
}

} // namespace kiln::ci
