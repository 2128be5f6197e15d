#include "util/redact.hpp"

#include "util/strings.hpp"

#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln::util {

namespace fs = std::filesystem;

std::string url_encode(std::string_view data)
{
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (char c : data) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 15];
    }
  }
  return out;
}

void Redactor::add(const std::string& name, const std::string& value)
{
  if (value.empty())
    return;
  std::string encoded = base64_encode(value);
  // Without its padding, base64 text also matches inside a longer encoded stream.
  std::string unpadded = encoded.substr(0, encoded.find('='));
  std::vector<std::string> forms = {value, unpadded, url_encode(value)};
  // Logs are written line by line, so a value of several lines never appears whole in one: each
  // of its lines is a form of its own (short ones would hide common words, so they are left).
  if (value.find('\n') != std::string::npos) {
    for (std::string line : split(value, '\n')) {
      if (!line.empty() && line.back() == '\r')
        line.pop_back();
      if (line.size() >= kMinLineForm)
        forms.push_back(line);
    }
  }
  for (const std::string& form : forms) {
    bool known = std::any_of(needles_.begin(), needles_.end(),
                             [&](const Needle& n) { return n.text == form; });
    if (!known && !form.empty()) {
      needles_.push_back({name, form});
      longest_ = std::max(longest_, form.size());
    }
  }
  // Longest first, so that a value is replaced whole before any shorter form inside it.
  std::sort(needles_.begin(), needles_.end(),
            [](const Needle& a, const Needle& b) { return a.text.size() > b.text.size(); });
}

std::string Redactor::apply(std::string_view text) const
{
  std::string out(text);
  for (const auto& needle : needles_) {
    std::string replacement = "[secret " + needle.name + "]";
    for (size_t at = out.find(needle.text); at != std::string::npos;
         at = out.find(needle.text, at + replacement.size()))
      out.replace(at, needle.text.size(), replacement);
  }
  return out;
}

std::optional<std::string> Redactor::find_in(std::string_view data) const
{
  for (const auto& needle : needles_) {
    if (data.find(needle.text) != std::string_view::npos)
      return needle.name;
  }
  return std::nullopt;
}

Redactor::Scanner::Scanner(const Redactor& redactor) : redactor_(redactor) {}

void Redactor::Scanner::feed(std::string_view chunk)
{
  if (found_ || redactor_.empty())
    return;
  tail_.append(chunk);
  found_ = redactor_.find_in(tail_);
  size_t keep = redactor_.longest_ > 0 ? redactor_.longest_ - 1 : 0;
  if (tail_.size() > keep)
    tail_.erase(0, tail_.size() - keep);
}

static Expected<std::optional<std::string>> scan_file(const Redactor& redactor,
                                                      const fs::path& path)
{
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return errno_error("cannot read", path.string(), errno);
  Redactor::Scanner scanner(redactor);
  std::vector<char> buffer(1 << 16);
  ssize_t n;
  while ((n = ::read(fd, buffer.data(), buffer.size())) > 0 && !scanner.found())
    scanner.feed(std::string_view(buffer.data(), static_cast<size_t>(n)));
  ::close(fd);
  return scanner.found();
}

Expected<std::optional<std::pair<std::string, std::string>>>
Redactor::find_in_tree(const fs::path& dir) const
{
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st {};
    std::string relative = it->path().lexically_relative(dir).string();
    if (auto name = find_in(relative)) // a value in a file's name lands in tar entries too
      return std::optional(std::make_pair(relative, *name));
    if (::lstat(it->path().c_str(), &st) != 0)
      continue;
    if (S_ISLNK(st.st_mode)) {
      std::error_code link_ec;
      if (auto name = find_in(fs::read_symlink(it->path(), link_ec).string()))
        return std::optional(std::make_pair(relative, *name));
      continue;
    }
    if (!S_ISREG(st.st_mode))
      continue;
    auto found = scan_file(*this, it->path());
    if (!found)
      return std::move(found).error();
    if (*found)
      return std::optional(std::make_pair(relative, **found));
  }
  return std::optional<std::pair<std::string, std::string>>();
}

} // namespace kiln::util
