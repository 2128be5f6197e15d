// The security baseline: a documented subset of CIS Debian Linux Level 1, the rules that apply to
// an image (not to a running host's partitions, bootloader or audit daemon). Each rule says how it
// is applied and how it is checked; the check runs on the finished image, so a step that undoes a
// setting is caught.
#pragma once

#include "util/error.hpp"

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::security {

struct Rule {
  std::string_view id;  // stable name used in waivers
  std::string_view cis; // CIS Debian Linux 12 Benchmark section it follows
  std::string_view title;
};

// Every rule of the baseline, in report order.
const std::vector<Rule>& cis_level1();
std::vector<std::string_view> rule_ids();

// What applying the baseline changes, without waived rules. bake/ turns it into commands.
struct Changes {
  std::map<std::string, std::string> files;                    // absolute path -> whole content
  std::vector<std::pair<std::string, std::string>> login_defs; // key, value
  struct Mode {
    std::string path;
    std::string mode;  // octal
    std::string owner; // user:group
  };
  std::vector<Mode> modes;
  std::vector<std::string> masked_services; // masked when the image has the unit
};

// `waived`: rule id -> reason.
Changes changes(const std::map<std::string, std::string>& waived);

struct Finding {
  std::string rule;
  std::string cis;
  std::string title;
  std::string status; // "pass", "fail", "waived"
  std::string detail; // why it failed, or the waiver's reason
};

// Checks every rule against a finished tree.
Expected<std::vector<Finding>> audit(const std::filesystem::path& tree,
                                     const std::map<std::string, std::string>& waived);

nlohmann::json report_json(const std::vector<Finding>& findings);
std::string report_markdown(const std::vector<Finding>& findings);

} // namespace kiln::security
