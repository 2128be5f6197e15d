#include "release/publish.hpp"

#include "image/out_dir.hpp"
#include "release/manifest_fields.hpp"
#include "release/provenance.hpp"
#include "release/signatures.hpp"
#include "release/version.hpp"
#include "spec/definition.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/semver.hpp"
#include "util/signing.hpp"

#include <algorithm>
#include <ctime>
#include <set>

namespace kiln::release {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Every regular file of the output folder, sorted; not the lock file nor a file being written.
Expected<std::vector<std::string>> output_files(const fs::path& out)
{
  std::vector<std::string> files;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(out, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    std::string rel = fs::relative(it->path(), out).string();
    std::string name = it->path().filename().string();
    if (it->is_symlink() || !it->is_regular_file() || name == image::out::kLock ||
        name.find(".partial") != std::string::npos)
      continue;
    files.push_back(rel);
  }
  if (ec)
    return make_error(ExitCode::input, "cannot list " + out.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

using ImageFacts = image::out::Finished;

// OUT's manifest, with a name and a version a store can hold.
Expected<ImageFacts> read_image(const fs::path& out)
{
  auto facts = image::out::read_finished(out);
  if (!facts)
    return facts;
  if (!spec::valid_image_name(facts->name))
    return make_error(ExitCode::input, image::out::at(out, image::out::kManifest).string() +
                                           " names the image '" + facts->name +
                                           "', which is not a valid image name");
  if (auto parsed = util::parse_version(facts->version); !parsed)
    return make_error(ExitCode::input,
                      facts->name + "'s version '" + facts->version +
                          "' is not a semantic version: " + parsed.error().message,
                      "set `version:` in the definition to e.g. 1.4.0 and build again");
  return facts;
}

Version describe(const ImageFacts& facts)
{
  Version v;
  v.name = facts.name;
  v.version = facts.version;
  v.published = std::time(nullptr);
  v.publisher = current_identity();
  if (const json& parent = field(field(facts.manifest, "base"), "image"); parent.is_object())
    v.parent =
        ParentImage{text(parent, "name"), text(parent, "version"), text(parent, "manifest_sha256")};
  v.tests_total = number(field(facts.manifest, "tests"), "total");
  v.tests_failed = number(field(facts.manifest, "tests"), "failed");
  return v;
}

// An output that is not what the build wrote (its sha256 is in manifest.json).
Error edited_output(const fs::path& file, const std::string& actual, const std::string& expected)
{
  return make_error(ExitCode::input,
                    file.string() + " does not match manifest.json: its sha256 is " + actual +
                        ", the manifest says " + expected,
                    "build it again; never edit a built image in place");
}

// Stores each file's chunks; an output the manifest lists must match its recorded sha256.
Status store_files(store::Store& store, const fs::path& out, const ImageFacts& facts, Version& v,
                   PublishResult& result, const std::function<void(const std::string&)>& progress)
{
  auto files = output_files(out);
  if (!files)
    return std::move(files).error();
  for (const auto& rel : *files) {
    if (progress)
      progress(rel);
    auto want = facts.outputs.find(rel);
    bool output = want != facts.outputs.end();
    bool tar = output && rel.ends_with(".tar.zst");
    auto stored =
        store::put_file(store, out / rel, tar ? store::Encoding::zstd : store::Encoding::raw);
    if (!stored && output) { // an edited .tar.zst may not even decompress: say what it is
      auto actual = util::sha256_file(out / rel);
      if (actual && *actual != want->second)
        return edited_output(out / rel, *actual, want->second);
    }
    if (!stored)
      return std::move(stored).error();
    if (output && stored->sha256 != want->second)
      return edited_output(out / rel, stored->sha256, want->second);
    if (rel == image::out::kManifest)
      v.manifest_sha256 = stored->sha256;
    result.chunks += stored->chunks.size();
    result.new_chunks += stored->new_blobs;
    result.new_bytes += stored->new_blob_bytes;
    result.size += stored->size;
    v.files.push_back({rel, std::move(*stored)});
  }
  result.files = v.files.size();
  return ok_status();
}

// The version's document: its body, signature and provenance.
Expected<VersionDocument> document_for(const Version& v, const json& manifest,
                                       const ReleaseConfig& config)
{
  VersionDocument document{v, to_json(v), {}, nullptr};
  auto envelope = dsse_envelope(provenance_statement(manifest, v), config.signing_key);
  if (!envelope)
    return std::move(envelope).error();
  document.provenance = std::move(*envelope);
  if (!config.signing_key.empty()) {
    auto signatures = sign_version(document.body, config.signing_key);
    if (!signatures)
      return std::move(signatures).error();
    document.signatures = std::move(*signatures);
  }
  return document;
}

} // namespace

Expected<PublishResult> publish(store::Store& store, const fs::path& out,
                                const ReleaseConfig& config,
                                const std::function<void(const std::string&)>& progress)
{
  auto facts = read_image(out);
  if (!facts)
    return std::move(facts).error();
  PublishResult result;
  if (!config.signing_key.empty()) { // a bad key fails now, not after the chunks are stored
    auto keyid = util::key_fingerprint(config.signing_key);
    if (!keyid)
      return std::move(keyid).error();
  }
  result.name = facts->name;
  result.version = facts->version;
  auto lock = store.lock(store::Access::shared); // no gc while this publish runs
  if (!lock)
    return std::move(lock).error();
  Version v = describe(*facts);
  KILN_TRY(store_files(store, out, *facts, v, result, progress));
  KILN_TRY(store.sync()); // every chunk durable before the version refers to it
  auto document = document_for(v, facts->manifest, config);
  if (!document)
    return std::move(document).error();
  if (!document->signatures.empty())
    result.keyid = document->signatures.front().keyid;
  std::string key = version_key(v.name, v.version);
  auto created = store.create_document(key, to_document(*document));
  if (!created)
    return std::move(created).error();
  if (*created)
    return result;
  // Published before (or by another publisher just now): fine only with the same content.
  auto existing = read_version(store, v.name, v.version);
  if (!existing)
    return std::move(existing).error();
  if (!same_content(existing->version, v))
    return make_error(ExitCode::refused,
                      v.name + "@" + v.version + " is already published, with other content",
                      "a published version never changes: raise the version and build again");
  result.unchanged = true;
  result.keyid = existing->signatures.empty() ? "" : existing->signatures.front().keyid;
  return result;
}

} // namespace kiln::release
