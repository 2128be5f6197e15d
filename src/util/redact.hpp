// Hiding secret values: in text (logs, errors, displayed commands) and finding them in files.
#pragma once

#include "util/error.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::util {

class Redactor {
public:
  // Adds a value, with the forms it is likely to travel in: as is, base64 and URL-encoded, and
  // for a value of several lines each line of at least kMinLineForm characters.
  static constexpr size_t kMinLineForm = 8;
  void add(const std::string& name, const std::string& value);
  bool empty() const { return needles_.empty(); }

  // TEXT with every form of every value replaced by "[secret NAME]".
  std::string apply(std::string_view text) const;

  // The name of the secret whose value (in any form) occurs in DATA, or nullopt.
  std::optional<std::string> find_in(std::string_view data) const;

  // The first file below DIR (its path relative to DIR) holding a secret in its name, its
  // content or its link target, and which one. Links are not followed.
  Expected<std::optional<std::pair<std::string, std::string>>>
  find_in_tree(const std::filesystem::path& dir) const;

  // Scans a stream in chunks, keeping enough overlap that no value is missed at a boundary.
  class Scanner {
  public:
    explicit Scanner(const Redactor& redactor);
    void feed(std::string_view chunk);
    const std::optional<std::string>& found() const { return found_; }

  private:
    const Redactor& redactor_;
    std::string tail_;
    std::optional<std::string> found_;
  };

private:
  struct Needle {
    std::string name;
    std::string text;
  };
  std::vector<Needle> needles_;
  size_t longest_ = 0;
};

// The encodings a secret may travel in.
std::string url_encode(std::string_view data);

} // namespace kiln::util
