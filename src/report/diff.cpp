#include "report/diff.hpp"

#include "image/out_dir.hpp"
#include "util/fs.hpp"

#include <map>

namespace kiln::report {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using Table = std::map<std::string, json>;

// added / removed / changed between two name -> value tables.
json compare(const Table& a, const Table& b)
{
  json added = json::array(), removed = json::array(), changed = json::array();
  for (const auto& [name, value] : b) {
    auto it = a.find(name);
    if (it == a.end())
      added.push_back({{"name", name}, {"to", value}});
    else if (it->second != value)
      changed.push_back({{"name", name}, {"from", it->second}, {"to", value}});
  }
  for (const auto& [name, value] : a) {
    if (!b.count(name))
      removed.push_back({{"name", name}, {"from", value}});
  }
  return {{"added", added}, {"removed", removed}, {"changed", changed}};
}

Table packages(const json& manifest)
{
  Table table;
  for (const auto& p : manifest.value("packages", json::array())) {
    std::string name = p.at("name");
    if (p.value("architecture", "") != "all" && p.value("architecture", "") != "amd64")
      name += ":" + p.value("architecture", "");
    table[name] = p.at("version");
  }
  return table;
}

Table tools(const json& manifest)
{
  Table table;
  for (const auto& t : manifest.value("tools", json::array()))
    table[t.at("name")] = t.value("version", "").empty() ? "not found" : t.value("version", "");
  return table;
}

Table users(const json& manifest)
{
  Table table;
  for (const auto& u : manifest.value("users", json::array())) {
    table[u.at("name")] = "uid " + std::to_string(u.value("uid", 0)) + ", " + u.value("shell", "") +
                          ", groups " + u.value("groups", json::array()).dump();
  }
  return table;
}

Table files(const json& listing)
{
  Table table;
  if (listing.is_object()) {
    for (const auto& [path, digest] : listing.items())
      table["/" + path] = digest;
  }
  return table;
}

Table tests(const json& results)
{
  Table table;
  if (results.is_object()) {
    for (const auto& t : results.value("tests", json::array()))
      table[t.at("name")] = t.value("passed", false) ? "passed" : "failed";
  }
  return table;
}

std::string identity(const json& manifest)
{
  return manifest.value("name", "?") + " " + manifest.value("version", "?");
}

std::string value_text(const json& value)
{
  return value.is_string() ? value.get<std::string>() : value.dump();
}

size_t count(const json& section)
{
  return section["added"].size() + section["removed"].size() + section["changed"].size();
}

} // namespace

const std::vector<std::pair<std::string, std::string>>& diff_sections()
{
  static const std::vector<std::pair<std::string, std::string>> sections = {
      {"packages", "Packages"},
      {"tools", "Tools"},
      {"users", "Users"},
      {"files", "Files outside packages"},
      {"tests", "Tests"}};
  return sections;
}

Expected<ImageFacts> read_image_facts(const fs::path& out_dir)
{
  auto finished = image::out::read_finished(out_dir);
  if (!finished)
    return std::move(finished).error();
  ImageFacts facts;
  facts.manifest = std::move(finished->manifest);
  for (auto [file, target] :
       {std::pair{image::out::at(out_dir, image::out::kFiles), &facts.files},
        {image::out::tests_at(out_dir, image::out::kTestResults), &facts.results}}) {
    if (!fs::exists(file))
      continue; // an image without tests, or from before kiln wrote the file
    auto value = util::read_json_file(file);
    if (!value)
      return std::move(value).error();
    *target = std::move(*value);
  }
  return facts;
}

json diff_images(const ImageFacts& a, const ImageFacts& b)
{
  json diff = {{"from", identity(a.manifest)},
               {"to", identity(b.manifest)},
               {"packages", compare(packages(a.manifest), packages(b.manifest))},
               {"tools", compare(tools(a.manifest), tools(b.manifest))},
               {"users", compare(users(a.manifest), users(b.manifest))},
               {"files", compare(files(a.files), files(b.files))},
               {"tests", compare(tests(a.results), tests(b.results))}};
  std::string os_a = a.manifest.value("os", json::object()).value("pretty_name", "");
  std::string os_b = b.manifest.value("os", json::object()).value("pretty_name", "");
  if (os_a != os_b)
    diff["os"] = {{"from", os_a}, {"to", os_b}};
  return diff;
}

std::string diff_text(const json& diff)
{
  std::string text = diff.value("from", "") + " -> " + diff.value("to", "") + "\n";
  if (diff.contains("os"))
    text += "os: " + value_text(diff["os"]["from"]) + " -> " + value_text(diff["os"]["to"]) + "\n";
  for (const auto& [key, title] : diff_sections()) {
    const json& section = diff[key];
    text += title + ": " + std::to_string(section["added"].size()) + " added, " +
            std::to_string(section["removed"].size()) + " removed, " +
            std::to_string(section["changed"].size()) + " changed\n";
    // A file's digest says nothing to a reader; its path and the kind of change do.
    bool values = key != "files";
    for (const auto& item : section["added"])
      text +=
          "  + " + value_text(item["name"]) + (values ? " " + value_text(item["to"]) : "") + "\n";
    for (const auto& item : section["removed"])
      text +=
          "  - " + value_text(item["name"]) + (values ? " " + value_text(item["from"]) : "") + "\n";
    for (const auto& item : section["changed"]) {
      text += "  ~ " + value_text(item["name"]) +
              (values ? " " + value_text(item["from"]) + " -> " + value_text(item["to"]) : "") +
              "\n";
    }
  }
  return text;
}

std::string diff_markdown(const json& diff)
{
  std::string text =
      "## Changes in " + diff.value("to", "") + " since " + diff.value("from", "") + "\n";
  if (diff.contains("os"))
    text += "\nOS: " + value_text(diff["os"]["from"]) + " → " + value_text(diff["os"]["to"]) + "\n";
  bool any = false;
  for (const auto& [key, title] : diff_sections()) {
    const json& section = diff[key];
    if (count(section) == 0)
      continue;
    any = true;
    bool values = key != "files";
    text +=
        "\n### " + title + "\n\n" +
        (values ? "| | Name | Before | After |\n|---|---|---|---|\n" : "| | Path |\n|---|---|\n");
    for (const char* change : {"added", "removed", "changed"}) {
      for (const auto& item : section[change]) {
        text += std::string("| ") + change + " | " + value_text(item["name"]);
        if (values) {
          text += " | " + (item.contains("from") ? value_text(item["from"]) : "") + " | " +
                  (item.contains("to") ? value_text(item["to"]) : "");
        }
        text += " |\n";
      }
    }
  }
  if (!any)
    text += "\nNo changes.\n";
  return text;
}

} // namespace kiln::report
