#include "release/pull.hpp"

#include "release/channels.hpp"
#include "release/signatures.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/semver.hpp"

#include <unistd.h>

namespace kiln::release {

namespace fs = std::filesystem;

namespace {

Expected<std::pair<std::string, std::string>> split_ref(const std::string& ref)
{
  size_t at = ref.find('@');
  if (at == std::string::npos || at == 0 || at + 1 == ref.size())
    return make_error(ExitCode::usage, "'" + ref + "' is not a reference",
                      "write NAME@VERSION, NAME@CHANNEL or NAME@RANGE, e.g. linux-agent@prod");
  return std::make_pair(ref.substr(0, at), ref.substr(at + 1));
}

// The highest version in `range` that is not revoked.
Expected<std::string> pick_in_range(store::Store& store, const std::string& name,
                                    const std::string& selector)
{
  auto range = util::parse_range(selector);
  if (!range)
    return make_error(ExitCode::usage,
                      "'" + selector +
                          "' is neither a channel, a version nor a range: " + range.error().message,
                      "write e.g. prod, 1.4.0, ^1.4 or 1.x");
  auto versions = list_versions(store, name);
  if (!versions)
    return std::move(versions).error();
  for (auto it = versions->rbegin(); it != versions->rend(); ++it) {
    if (!util::satisfies(*util::parse_version(*it), *range))
      continue;
    auto revocation = read_revocation(store, name, *it);
    if (!revocation)
      return std::move(revocation).error();
    if (!*revocation)
      return *it;
  }
  return make_error(ExitCode::input,
                    "no published, unrevoked version of " + name + " is in " + selector,
                    "`kiln ls " + name + "` lists its versions");
}

} // namespace

Expected<Resolved> resolve(store::Store& store, const ReleaseConfig& config, const std::string& ref,
                           bool allow_revoked)
{
  auto parts = split_ref(ref);
  if (!parts)
    return std::move(parts).error();
  auto& [name, selector] = *parts;
  Resolved resolved{name, "", "", false, "", {}};
  // An image the store has never seen: say so, rather than what its channel or range lacks.
  auto versions = list_versions(store, name);
  if (!versions)
    return std::move(versions).error();
  if (versions->empty())
    return make_error(ExitCode::input, "the store has no image named '" + name + "'",
                      "`kiln ls` lists the images it has");
  auto state = read_channels(store, name);
  if (!state)
    return std::move(state).error();
  if (config.channel(selector) || state->pointers.count(selector)) {
    auto at = state->pointers.find(selector);
    if (at == state->pointers.end())
      return make_error(ExitCode::input,
                        "channel " + selector + " of " + name + " points at no version yet",
                        "kiln promote " + name + "@VERSION --to " + selector);
    resolved.version = at->second;
    resolved.how = "channel " + selector;
  } else if (util::parse_version(selector)) {
    resolved.version = selector;
    resolved.how = "exact version";
  } else {
    auto picked = pick_in_range(store, name, selector);
    if (!picked)
      return std::move(picked).error();
    resolved.version = *picked;
    resolved.how = "range " + selector;
  }
  auto document = read_version(store, name, resolved.version);
  if (!document)
    return std::move(document).error();
  resolved.document = std::move(*document);
  auto revocation = read_revocation(store, name, resolved.version);
  if (!revocation)
    return std::move(revocation).error();
  if (*revocation) {
    resolved.revoked = true;
    resolved.revoked_reason = (*revocation)->reason;
    if (!allow_revoked)
      return make_error(ExitCode::refused,
                        name + "@" + resolved.version + " (" + resolved.how +
                            ") is revoked: " + (*revocation)->reason,
                        "promote a good version to the channel, or pass --force to take it "
                        "anyway");
  }
  return resolved;
}

Expected<PullResult> pull(store::Store& store, const ReleaseConfig& config, const std::string& ref,
                          const fs::path& dir, bool force,
                          const std::function<void(const std::string&)>& progress)
{
  PullResult result;
  auto lock = store.lock(store::Access::shared); // gc cannot remove what is being pulled
  if (!lock)
    return std::move(lock).error();
  auto resolved = resolve(store, config, ref, force);
  if (!resolved)
    return std::move(resolved).error();
  result.resolved = std::move(*resolved);
  const VersionDocument* document = &result.resolved.document;
  if (!config.public_key.empty()) {
    auto keyid = check_version_signature(*document, config.public_key);
    if (!keyid)
      return std::move(keyid).error();
    result.keyid = *keyid;
  }
  std::error_code ec;
  if (fs::exists(dir) && (!fs::is_directory(dir) || !fs::is_empty(dir, ec)))
    return make_error(ExitCode::usage, dir.string() + " is not empty",
                      "pull into a new folder; kiln never mixes two versions in one");
  fs::path partial = dir.string() + ".partial-" + std::to_string(::getpid());
  fs::remove_all(partial, ec);
  auto fail = [&](Error error) -> Error {
    fs::remove_all(partial, ec);
    return error;
  };
  for (const auto& file : document->version.files) {
    if (progress)
      progress(file.path);
    fs::path target = partial / file.path;
    if (Status made = util::make_dirs(target.parent_path()); !made)
      return fail(std::move(made).error());
    if (Status got = store::get_file(store, file.stored, target); !got)
      return fail(std::move(got).error());
    result.size += file.stored.size;
  }
  result.files = document->version.files.size();
  fs::remove(dir, ec); // empty, if there
  fs::rename(partial, dir, ec);
  if (ec)
    return fail(make_error(ExitCode::environment, "cannot rename " + partial.string() + " to " +
                                                      dir.string() + ": " + ec.message()));
  return result;
}

Expected<FetchedImage> fetch_image(store::Store& store, const ReleaseConfig& config,
                                   const std::string& ref, const fs::path& root,
                                   const std::function<void(const std::string&)>& progress)
{
  FetchedImage fetched;
  auto resolved = resolve(store, config, ref);
  if (!resolved)
    return std::move(resolved).error();
  fetched.resolved = std::move(*resolved);
  const VersionDocument& document = fetched.resolved.document;
  if (!config.public_key.empty()) {
    auto keyid = check_version_signature(document, config.public_key);
    if (!keyid)
      return std::move(keyid).error();
    fetched.keyid = *keyid;
  }
  // A published version never changes, but two stores may each hold a NAME@VERSION: the folder
  // is named by the signed body too.
  const Version& version = document.version;
  std::string body = util::sha256_hex(signed_message(document.body));
  fetched.dir = root / (version.name + "@" + version.version + "-" + body.substr(0, 16));
  auto whole = [&] {
    auto manifest = util::sha256_file(fetched.dir / "manifest.json");
    return manifest && *manifest == version.manifest_sha256;
  };
  if (whole())
    return fetched;
  // Not there, or not whole: pulled afresh into a folder of this process (by exact version, so
  // a channel that moves meanwhile changes nothing), then put in place.
  fs::path mine = fetched.dir.string() + ".pulling-" + std::to_string(::getpid());
  std::error_code ec;
  fs::remove_all(mine, ec);
  KILN_TRY(util::make_dirs(root));
  auto pulled = pull(store, config, version.name + "@" + version.version, mine, false, progress);
  if (!pulled)
    return std::move(pulled).error();
  fs::remove_all(fetched.dir, ec);
  fs::rename(mine, fetched.dir, ec);
  if (ec) {
    fs::remove_all(mine, ec);
    if (!whole()) // not another build that put it there first
      return make_error(ExitCode::environment,
                        "cannot put " + ref + " in " + fetched.dir.string() + ": " + ec.message());
  }
  fetched.pulled = true;
  return fetched;
}

} // namespace kiln::release
