#include "util/fs.hpp"

#include "util/strings.hpp"

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <vector>

namespace kiln::util {

Expected<std::string> read_file(const fs::path& path)
{
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return errno_error("cannot read", path.string(), errno ? errno : ENOENT, ExitCode::input);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

Expected<std::string> read_file_bounded(const fs::path& path, size_t max_bytes,
                                        const std::string& what)
{
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return errno_error("cannot read", path.string(), errno, ExitCode::input);
  struct stat st {};
  bool known = ::fstat(fd, &st) == 0;
  bool regular = known && S_ISREG(st.st_mode);
  bool small = regular && static_cast<uint64_t>(st.st_size) <= max_bytes;
  std::string text;
  if (small) {
    text.resize(static_cast<size_t>(st.st_size));
    size_t done = 0;
    ssize_t got = 0;
    while (done < text.size() && (got = ::read(fd, text.data() + done, text.size() - done)) > 0)
      done += static_cast<size_t>(got);
    text.resize(done);
  }
  ::close(fd);
  if (known && S_ISDIR(st.st_mode))
    return make_error(ExitCode::input, path.string() + " is a folder, not a file",
                      "give the file itself, e.g. " + (path / "image.yaml").string());
  if (!regular)
    return make_error(ExitCode::input, path.string() + " is not a regular file");
  if (!small)
    return make_error(ExitCode::input, path.string() + " is larger than " +
                                           std::to_string(max_bytes >> 20) + " MiB, the most " +
                                           what + " may be");
  return text;
}

namespace {

Status write_whole(const fs::path& path, std::string_view content, mode_t mode, bool durable);

} // namespace

Status read_blocks(const fs::path& path, const std::function<Status(std::string_view)>& block)
{
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return errno_error("cannot read", path.string(), errno);
  std::vector<char> buffer(1 << 17);
  Status status = ok_status();
  while (status) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      status = errno_error("cannot read", path.string(), errno);
    if (n <= 0)
      break;
    status = block(std::string_view(buffer.data(), static_cast<size_t>(n)));
  }
  ::close(fd);
  return status;
}

Status write_file_atomic(const fs::path& path, std::string_view content, mode_t mode)
{
  return write_whole(path, content, mode, true);
}

Status write_file_replacing(const fs::path& path, std::string_view content, mode_t mode)
{
  return write_whole(path, content, mode, false);
}

Status sync_filesystem(const fs::path& path)
{
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno_error("cannot open", path.string(), errno);
  int rc = ::syncfs(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0)
    return errno_error("cannot sync the filesystem of", path.string(), err);
  return ok_status();
}

namespace {

Status write_whole(const fs::path& path, std::string_view content, mode_t mode, bool durable)
{
  // Unique per writer, threads of one process included, so two writers never rename each
  // other's half-written file.
  static std::atomic<uint64_t> sequence = 0;
  fs::path tmp = path;
  tmp += ".tmp-" + std::to_string(getpid()) + "-" + std::to_string(sequence++);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0)
    return errno_error("cannot create", tmp.string(), errno);
  const char* data = content.data();
  size_t left = content.size();
  while (left > 0) {
    ssize_t n = ::write(fd, data, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return errno_error("cannot write", tmp.string(), err);
    }
    data += n;
    left -= static_cast<size_t>(n);
  }
  if ((durable && ::fsync(fd) != 0) || ::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return errno_error("cannot write", tmp.string(), err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return errno_error("cannot rename into place", path.string(), err);
  }
  return ok_status();
}

} // namespace

Status make_dirs(const fs::path& path)
{
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec)
    return errno_error("cannot create folder", path.string(), ec.value());
  return ok_status();
}

bool is_plain_relative_path(std::string_view path)
{
  if (path.empty() || path.front() == '/' || path.back() == '/' ||
      path.find('\0') != std::string_view::npos)
    return false;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos)
      end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..")
      return false;
    start = end + 1;
  }
  return true;
}

bool lexically_within(const fs::path& base, const fs::path& path)
{
  fs::path normal_base = base.lexically_normal();
  fs::path normal = (path.is_absolute() ? path : base / path).lexically_normal();
  auto [base_end, unused] =
      std::mismatch(normal_base.begin(), normal_base.end(), normal.begin(), normal.end());
  (void)unused;
  if (base_end == normal_base.end())
    return true;
  // A trailing empty element ("dir/") on the base is not a real component.
  return std::next(base_end) == normal_base.end() && base_end->empty();
}

// mountinfo escapes space, tab, newline and backslash as octal.
static std::string unescape_mount_path(std::string_view text)
{
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size()) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 3)), nullptr, 8));
      i += 3;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::vector<std::string> mounts_under(const fs::path& path)
{
  std::vector<std::string> found;
  std::error_code ec;
  fs::path base = fs::weakly_canonical(path, ec);
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    auto fields = split(line, ' ');
    if (fields.size() < 5)
      continue;
    std::string mount_point = unescape_mount_path(fields[4]);
    if (lexically_within(base, mount_point))
      found.push_back(mount_point);
  }
  return found;
}

Status remove_tree(const fs::path& path)
{
  auto mounts = mounts_under(path);
  if (!mounts.empty()) {
    return make_error(ExitCode::environment,
                      "refusing to remove " + path.string() + ": " + mounts.front() +
                          " is still mounted",
                      "unmount it (umount -R " + mounts.front() + ") and run again");
  }
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec)
    return errno_error("cannot remove", path.string(), ec.value());
  return ok_status();
}

long long free_bytes(const fs::path& path)
{
  struct statvfs info {};
  if (::statvfs(path.c_str(), &info) != 0)
    return -1;
  return static_cast<long long>(info.f_bavail) * static_cast<long long>(info.f_frsize);
}

Expected<nlohmann::json> read_json_file(const fs::path& path)
{
  auto text = read_file(path);
  if (!text)
    return std::move(text).error();
  nlohmann::json parsed = nlohmann::json::parse(*text, nullptr, false);
  if (parsed.is_discarded())
    return make_error(ExitCode::input, path.string() + " is not valid JSON");
  return parsed;
}

} // namespace kiln::util
