#include "util/digest_memo.hpp"

#include "util/fs.hpp"
#include "util/hash.hpp"

#include <cerrno>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

namespace kiln::util {

namespace {

constexpr size_t kMaxEntries = 4096; // the oldest are dropped beyond this (by path order)

} // namespace

std::string stat_signature(const struct stat& st)
{
  auto ns = [](const struct timespec& t) {
    return std::to_string(static_cast<long long>(t.tv_sec) * 1000000000LL + t.tv_nsec);
  };
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" +
         std::to_string(st.st_size) + ":" + ns(st.st_mtim) + ":" + ns(st.st_ctim);
}

DigestMemo::DigestMemo(std::filesystem::path file) : file_(std::move(file))
{
  auto text = read_file_bounded(file_, 16 << 20);
  if (!text)
    return;
  auto json = nlohmann::json::parse(*text, nullptr, false);
  if (!json.is_object())
    return;
  for (const auto& [path, entry] : json.items()) {
    if (entry.is_object() && entry.value("stat", "").size() > 0 &&
        entry.value("sha256", "").size() == 64)
      entries_[path] = Entry{entry.value("stat", ""), entry.value("sha256", "")};
  }
}

Expected<std::string> DigestMemo::sha256_file(const std::filesystem::path& path)
{
  std::error_code ec;
  std::string key = std::filesystem::absolute(path, ec).lexically_normal().string();
  struct stat before {};
  if (::stat(path.c_str(), &before) != 0)
    return errno_error("cannot read", path.string(), errno, ExitCode::input);
  std::string line = stat_signature(before);
  if (auto it = entries_.find(key); it != entries_.end() && it->second.stat == line) {
    ++hits_;
    return it->second.sha256;
  }
  auto digest = util::sha256_file(path);
  if (!digest)
    return digest;
  struct stat after {};
  // Only a file that did not change while it was read is remembered.
  if (::stat(path.c_str(), &after) == 0 && stat_signature(after) == line &&
      S_ISREG(after.st_mode)) {
    entries_[key] = Entry{line, *digest};
    changed_ = true;
  }
  return digest;
}

void DigestMemo::save()
{
  if (!changed_ || file_.empty())
    return;
  while (entries_.size() > kMaxEntries)
    entries_.erase(entries_.begin());
  nlohmann::json json = nlohmann::json::object();
  for (const auto& [path, entry] : entries_)
    json[path] = {{"stat", entry.stat}, {"sha256", entry.sha256}};
  std::string text = json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  (void)write_file_atomic(file_, text + "\n", 0600);
  changed_ = false;
}

} // namespace kiln::util
