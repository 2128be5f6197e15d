#include "report/html.hpp"

#include "report/diff.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <cstdio>
#include <map>

namespace kiln::report {

using nlohmann::json;

namespace {

std::string text_of(const json& value)
{
  return value.is_string() ? value.get<std::string>() : value.is_null() ? "" : value.dump();
}

std::string seconds(double value)
{
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", value);
  return text;
}

const char* kStyle = R"(body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:70rem;
color:#1f2328;padding:0 1rem}h1{margin-bottom:.2rem}.sub{color:#59636e;margin-top:0}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;width:100%}th,td{border-bottom:1px solid
#d1d9e0;padding:.3rem .6rem;text-align:left;vertical-align:top}th{background:#f6f8fa}
.pass{color:#1a7f37;font-weight:600}.fail{color:#d1242f;font-weight:600}code{font-size:.85em}
.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{border:1px solid #d1d9e0;border-radius:6px;
padding:.6rem 1rem;min-width:10rem}.card b{display:block;font-size:1.4rem}svg text{font-size:12px})";

std::string card(const std::string& label, const std::string& value)
{
  return "<div class=\"card\"><b>" + util::escape_markup(value) + "</b>" +
         util::escape_markup(label) + "</div>";
}

std::string identity(const PageInputs& in)
{
  const auto& m = in.manifest;
  std::string rootfs;
  for (const auto& output : m.outputs) {
    if (output.name == "rootfs")
      rootfs = output.sha256;
  }
  std::string html =
      "<h1>" + util::escape_markup(m.name + " " + m.version) + "</h1>\n<p class=\"sub\">" +
      util::escape_markup(m.os.pretty_name) + " · built " +
      util::escape_markup(util::format_utc(m.source_date_epoch, "%Y-%m-%d %H:%M UTC")) +
      " with kiln " + util::escape_markup(m.kiln_version) + " · rootfs sha256 <code>" +
      util::escape_markup(rootfs) + "</code></p>\n<div class=\"cards\">";
  html += card("packages", std::to_string(m.packages.size()));
  if (in.tests.is_object()) {
    html += card("tests passed",
                 std::to_string(in.tests.value("total", 0) - in.tests.value("failed", 0)) + " / " +
                     std::to_string(in.tests.value("total", 0)));
  }
  if (m.security.is_object()) {
    html += card("security rules passed",
                 std::to_string(m.security.value("pass", 0)) + " / " +
                     std::to_string(m.security.value("pass", 0) + m.security.value("fail", 0)));
  }
  html +=
      card("SBOM components", std::to_string(in.sbom.value("components", json::array()).size()));
  return html + "</div>\n";
}

// One horizontal bar per phase, scaled to the slowest.
std::string timings_chart(const json& timings)
{
  if (!timings.is_array() || timings.empty())
    return "";
  double longest = 0.001;
  for (const auto& t : timings)
    longest = std::max(longest, t.value("seconds", 0.0));
  const int row = 22, label = 180, width = 560;
  std::string svg = "<h2>Step timings</h2>\n<svg id=\"timings\" role=\"img\" width=\"" +
                    std::to_string(label + width + 80) + "\" height=\"" +
                    std::to_string(row * static_cast<int>(timings.size()) + 4) + "\">";
  int y = 0;
  for (const auto& t : timings) {
    double s = t.value("seconds", 0.0);
    int bar = std::max(1, static_cast<int>(width * s / longest));
    bool cached = t.value("outcome", "") == "cached";
    svg += "<text x=\"0\" y=\"" + std::to_string(y + 15) + "\">" +
           util::escape_markup(t.value("name", "")) + "</text><rect x=\"" + std::to_string(label) +
           "\" y=\"" + std::to_string(y + 4) + "\" width=\"" + std::to_string(bar) +
           "\" height=\"14\" fill=\"" + (cached ? "#8c959f" : "#0969da") + "\"><title>" +
           util::escape_markup(t.value("outcome", "")) + "</title></rect><text x=\"" +
           std::to_string(label + bar + 6) + "\" y=\"" + std::to_string(y + 15) + "\">" +
           seconds(s) + (cached ? " (cached)" : "") + "</text>";
    y += row;
  }
  return svg + "</svg>\n";
}

std::string tests_table(const json& tests)
{
  if (!tests.is_object())
    return "<h2>Tests</h2>\n<p>The image has no tests.</p>\n";
  std::string html = "<h2>Tests</h2>\n<table id=\"tests\"><tr><th>Result</th><th>Test</th>"
                     "<th>Step</th><th>Expected</th><th>Found</th></tr>\n";
  for (const auto& t : tests.value("tests", json::array())) {
    bool passed = t.value("passed", false);
    html += std::string("<tr><td class=\"") + (passed ? "pass\">pass" : "fail\">FAIL") +
            "</td><td>" + util::escape_markup(t.value("name", "")) + "</td><td>" +
            util::escape_markup(t["step"].is_string() ? t["step"].get<std::string>() : "image") +
            "</td><td>" + util::escape_markup(t.value("expected", "")) + "</td><td>" +
            util::escape_markup(t.value("actual", "")) + "</td></tr>\n";
  }
  return html + "</table>\n";
}

std::string groups_table(const std::string& title, const json& groups)
{
  if (!groups.is_array() || groups.empty())
    return "";
  std::string html = "<h3>" + util::escape_markup(title) +
                     "</h3>\n<table><tr><th>Category</th><th>Name</th><th>Version</th></tr>\n";
  for (const auto& group : groups) {
    for (const auto& item : group.value("items", json::array())) {
      html += "<tr><td>" + util::escape_markup(group.value("category", "")) + "</td><td>" +
              util::escape_markup(item.value("name", "")) + "</td><td>" +
              util::escape_markup(item.value("version", "")) + "</td></tr>\n";
    }
  }
  return html + "</table>\n";
}

std::string software_section(const json& software)
{
  return "<h2>Software</h2>\n<p>Kernel: " + util::escape_markup(software.value("kernel", "")) +
         " · base: " + util::escape_markup(software.value("base", "")) + "</p>\n" +
         groups_table("Tools", software["tools"]) +
         groups_table("Packages the definition installs", software["packages"]);
}

std::string sbom_section(const json& sbom)
{
  std::map<std::string, int> licenses;
  int packages = 0, licensed = 0, files = 0;
  for (const auto& c : sbom.value("components", json::array())) {
    if (c.value("type", "") == "file")
      ++files;
    if (!c.contains("purl"))
      continue;
    ++packages;
    if (!c.contains("licenses"))
      continue;
    ++licensed;
    const auto& first = c["licenses"][0];
    std::string name = first.contains("expression")      ? text_of(first["expression"])
                       : first["license"].contains("id") ? text_of(first["license"]["id"])
                                                         : text_of(first["license"]["name"]);
    ++licenses[name];
  }
  std::vector<std::pair<int, std::string>> top;
  for (const auto& [name, n] : licenses)
    top.emplace_back(-n, name);
  std::sort(top.begin(), top.end());
  std::string html = "<h2>SBOM</h2>\n<p>CycloneDX " +
                     util::escape_markup(sbom.value("specVersion", "")) +
                     " in <code>sbom.cdx.json</code>: " + std::to_string(packages) + " packages (" +
                     std::to_string(licensed) + " with a license), " + std::to_string(files) +
                     " downloaded files.</p>\n"
                     "<table><tr><th>License</th><th>Packages</th></tr>\n";
  for (size_t i = 0; i < top.size() && i < 10; ++i) {
    html += "<tr><td>" + util::escape_markup(top[i].second) + "</td><td>" +
            std::to_string(-top[i].first) + "</td></tr>\n";
  }
  return html + "</table>\n";
}

std::string diff_section(const json& diff, const std::string& against)
{
  if (!diff.is_object())
    return "<h2>Changes</h2>\n<p>No earlier build to compare with.</p>\n";
  std::string html = "<h2>Changes since " + util::escape_markup(against) + " (" +
                     util::escape_markup(diff.value("from", "")) + ")</h2>\n";
  bool any = false;
  for (const auto& [key, title] : diff_sections()) {
    const json& section = diff[key];
    std::string rows;
    for (const char* change : {"added", "removed", "changed"}) {
      for (const auto& item : section[change]) {
        rows += std::string("<tr><td>") + change + "</td><td>" +
                util::escape_markup(text_of(item["name"])) + "</td><td>" +
                util::escape_markup(text_of(item.value("from", json()))) + "</td><td>" +
                util::escape_markup(text_of(item.value("to", json()))) + "</td></tr>\n";
      }
    }
    if (rows.empty())
      continue;
    any = true;
    html += std::string("<h3>") + title +
            "</h3>\n<table><tr><th></th><th>Name</th><th>Before</th><th>After</th></tr>\n" + rows +
            "</table>\n";
  }
  return any ? html : html + "<p>No changes.</p>\n";
}

} // namespace

std::string report_html(const PageInputs& in)
{
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" +
         util::escape_markup(in.manifest.name + " " + in.manifest.version) + "</title><style>" +
         kStyle + "</style></head><body>\n" + identity(in) + timings_chart(in.timings) +
         tests_table(in.tests) + software_section(in.software) + sbom_section(in.sbom) +
         diff_section(in.diff, in.diff_against) + "</body></html>\n";
}

} // namespace kiln::report
