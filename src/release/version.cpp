#include "release/version.hpp"

#include "image/out_dir.hpp"
#include "util/fs.hpp"
#include "util/semver.hpp"

#include <algorithm>
#include <cstdlib>
#include <pwd.h>
#include <set>
#include <unistd.h>

namespace kiln::release {

using nlohmann::json;

uint64_t Version::size() const
{
  uint64_t total = 0;
  for (const auto& file : files)
    total += file.stored.size;
  return total;
}

std::string version_key(const std::string& name, const std::string& version)
{
  return versions_prefix(name) + version;
}

std::string versions_prefix(const std::string& name)
{
  return "images/" + name + "/versions/";
}

json to_json(const Version& v)
{
  json files = json::array();
  for (const auto& file : v.files) {
    json entry = store::to_json(file.stored);
    entry["path"] = file.path;
    files.push_back(entry);
  }
  json parent = nullptr;
  if (v.parent)
    parent = {{"name", v.parent->name},
              {"version", v.parent->version},
              {"manifest_sha256", v.parent->manifest_sha256}};
  return {{"format", 1},
          {"name", v.name},
          {"version", v.version},
          {"published", v.published},
          {"publisher", v.publisher},
          {"manifest_sha256", v.manifest_sha256},
          {"parent", parent},
          {"tests", {{"total", v.tests_total}, {"failed", v.tests_failed}}},
          {"files", files}};
}

Expected<Version> version_from_json(const json& body)
{
  try {
    if (body.at("format") != 1)
      return make_error(ExitCode::input,
                        "a version of an unknown format " + body.at("format").dump(),
                        "use a newer kiln to read this store");
    Version v;
    v.name = body.at("name");
    v.version = body.at("version");
    v.published = body.at("published");
    v.publisher = body.at("publisher");
    v.manifest_sha256 = body.at("manifest_sha256");
    if (const auto& parent = body.at("parent"); !parent.is_null())
      v.parent = ParentImage{parent.at("name"), parent.at("version"), parent.at("manifest_sha256")};
    v.tests_total = body.at("tests").at("total");
    v.tests_failed = body.at("tests").at("failed");
    std::set<std::string> paths;
    for (const auto& entry : body.at("files")) {
      auto stored = store::stored_file_from_json(entry);
      if (!stored)
        return std::move(stored).error();
      // Whatever the signature says, a path from the store is joined to the user's folders:
      // it must stay below them.
      std::string path = entry.at("path");
      if (!util::is_plain_relative_path(path) || !paths.insert(path).second)
        return make_error(ExitCode::input,
                          "a version lists the file path '" + path +
                              "', which is not a plain relative path or appears twice",
                          "the store holds a damaged or forged version: do not use it; run kiln "
                          "store fsck");
      v.files.push_back({path, std::move(*stored)});
    }
    return v;
  } catch (const json::exception& e) {
    return make_error(ExitCode::input, std::string("a malformed version: ") + e.what());
  }
}

std::string signed_message(const json& body)
{
  // nlohmann::json keeps keys sorted, so the dump is the same wherever it is made.
  return "kiln-version-v1\n" + body.dump();
}

std::string to_document(const VersionDocument& document)
{
  json signatures = json::array();
  for (const auto& s : document.signatures)
    signatures.push_back({{"keyid", s.keyid}, {"sig", s.sig}});
  return json{
      {"version", document.body}, {"signatures", signatures}, {"provenance", document.provenance}}
      .dump();
}

Expected<VersionDocument> parse_document(const std::string& text, const std::string& what)
{
  try {
    json doc = json::parse(text);
    VersionDocument document;
    document.body = doc.at("version");
    auto version = version_from_json(document.body);
    if (!version)
      return make_error(ExitCode::input, what + ": " + version.error().message);
    document.version = std::move(*version);
    for (const auto& s : doc.at("signatures"))
      document.signatures.push_back({s.at("keyid"), s.at("sig")});
    document.provenance = doc.at("provenance");
    return document;
  } catch (const json::exception& e) {
    return make_error(ExitCode::input, what + " is damaged: " + e.what());
  }
}

Expected<VersionDocument> read_version(store::Store& store, const std::string& name,
                                       const std::string& version)
{
  auto text = store.get_document(version_key(name, version));
  if (!text)
    return std::move(text).error();
  if (!*text)
    return make_error(ExitCode::input, name + "@" + version + " is not published",
                      "`kiln ls " + name + "` lists its versions");
  return parse_document(**text, name + "@" + version);
}

Expected<std::vector<std::string>> list_versions(store::Store& store, const std::string& name)
{
  auto keys = store.list_documents(versions_prefix(name));
  if (!keys)
    return std::move(keys).error();
  std::vector<std::pair<util::Version, std::string>> versions;
  for (const auto& key : *keys) {
    std::string text = key.substr(versions_prefix(name).size());
    if (auto parsed = util::parse_version(text))
      versions.emplace_back(*parsed, text);
  }
  std::sort(versions.begin(), versions.end(),
            [](const auto& a, const auto& b) { return util::compare(a.first, b.first) < 0; });
  std::vector<std::string> out;
  for (auto& [parsed, text] : versions)
    out.push_back(std::move(text));
  return out;
}

Expected<std::vector<std::string>> list_images(store::Store& store)
{
  auto keys = store.list_documents("images/");
  if (!keys)
    return std::move(keys).error();
  std::set<std::string> names;
  for (const auto& key : *keys) {
    size_t at = key.find("/versions/");
    if (at != std::string::npos)
      names.insert(key.substr(7, at - 7));
  }
  return std::vector<std::string>(names.begin(), names.end());
}

std::string current_identity()
{
  const char* user = std::getenv("SUDO_USER");
  if (!user || !*user)
    user = std::getenv("USER");
  std::string name = user && *user ? user : "";
  if (name.empty()) {
    const passwd* entry = ::getpwuid(::getuid());
    name = entry ? entry->pw_name : "uid" + std::to_string(::getuid());
  }
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return name + "@" + host;
}

bool same_content(const Version& a, const Version& b)
{
  auto digests = [](const Version& v) {
    std::set<std::pair<std::string, std::string>> out;
    for (const auto& file : v.files) {
      if (!image::out::records_the_run(file.path))
        out.insert({file.path, file.stored.sha256});
    }
    return out;
  };
  return a.name == b.name && a.version == b.version && digests(a) == digests(b);
}

} // namespace kiln::release
