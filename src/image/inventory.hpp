// What a finished tree holds besides its packages, for `kiln diff`: its users and the files no
// package owns (the steps' own work), each by digest.
#pragma once

#include "util/error.hpp"

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace kiln::image {

struct UserEntry {
  std::string name;
  int uid = 0;
  std::string shell;
  std::string home;
  std::vector<std::string> groups; // supplementary, sorted
};

// The lines of a colon-separated account file (/etc/passwd, /etc/group), as their fields, by
// their first field.
std::map<std::string, std::vector<std::string>>
read_account_file(const std::filesystem::path& file);

// The users of TREE/etc/passwd with their supplementary groups from TREE/etc/group.
std::vector<UserEntry> read_users(const std::filesystem::path& tree);
nlohmann::json to_json(const UserEntry& user);
UserEntry user_from_json(const nlohmann::json& json);

// Regular files and links that no package's file list names, as path -> "sha256:HEX" or
// "link:TARGET", leaving out what changes on every bake and says nothing of the image (dpkg and
// apt state, caches, logs, compiled python).
Expected<std::map<std::string, std::string>> unowned_files(const std::filesystem::path& tree);

} // namespace kiln::image
