#include "util/archive.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <cerrno>
#include <fcntl.h>
#include <memory>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln::util {

namespace {

using ArchivePtr = std::unique_ptr<struct archive, int (*)(struct archive*)>;

// Drops the first `count` components of a path; "" when nothing is left.
std::string strip(const std::string& path, int count)
{
  size_t start = 0;
  for (int i = 0; i < count; ++i) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos)
      return {};
    start = slash + 1;
  }
  return path.substr(start);
}

// A name that stays below the destination: relative, without "." or ".." components.
bool contained(const std::string& name)
{
  if (name.empty() || name[0] == '/')
    return false;
  for (const auto& part : std::filesystem::path(name)) {
    if (part == "..")
      return false;
  }
  return true;
}

// No folder on the way to `name` below `dest` is a symbolic link (which could lead anywhere).
bool no_link_on_the_way(const std::filesystem::path& dest, const std::string& name)
{
  std::filesystem::path at = dest;
  std::filesystem::path parent = std::filesystem::path(name).parent_path();
  for (const auto& part : parent) {
    at /= part;
    struct stat st {};
    if (::lstat(at.c_str(), &st) == 0 && S_ISLNK(st.st_mode))
      return false;
  }
  return true;
}

Error unsafe(const std::filesystem::path& file, const std::string& what)
{
  return make_error(ExitCode::input, "cannot extract " + file.string() + ": " + what,
                    "the archive is unsafe to extract; rebuild it with relative paths that stay "
                    "inside it");
}

Error archive_error(struct archive* a, const std::filesystem::path& file)
{
  const char* text = archive_error_string(a);
  return make_error(ExitCode::input,
                    "cannot extract " + file.string() + ": " + (text ? text : "unknown error"),
                    "check that " + file.filename().string() +
                        " is a whole tar.gz, tar.xz, tar.zst or zip archive");
}

} // namespace

Status extract_archive(int fd, const std::filesystem::path& file, const std::filesystem::path& dest,
                       int strip_components, bool whole_tree)
{
  ArchivePtr reader(archive_read_new(), archive_read_free);
  archive_read_support_format_all(reader.get());
  archive_read_support_filter_all(reader.get());
  ArchivePtr writer(archive_write_disk_new(), archive_write_free);
  // Not ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS: kiln gives libarchive absolute names (the
  // destination prefixed), after checking itself that each name and link target is relative.
  int flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
              ARCHIVE_EXTRACT_SECURE_SYMLINKS;
  if (whole_tree)
    flags |= ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_XATTR;
  archive_write_disk_set_options(writer.get(), flags);
  if (archive_read_open_fd(reader.get(), fd, 1 << 16) != ARCHIVE_OK)
    return archive_error(reader.get(), file);
  struct archive_entry* entry = nullptr;
  int result;
  while ((result = archive_read_next_header(reader.get(), &entry)) == ARCHIVE_OK) {
    std::string name = strip(archive_entry_pathname(entry), strip_components);
    if (name.empty())
      continue;
    // Entries are placed below `dest` by prefixing it, so every name, and every hard link's
    // target, must stay below it once stripped: an absolute or climbing target would link (and a
    // hard link entry with data would rewrite) a file of the host.
    if (!contained(name))
      return unsafe(file, "entry '" + name + "' leaves the destination");
    if (!no_link_on_the_way(dest, name))
      return unsafe(file, "entry '" + name + "' goes through a symbolic link");
    archive_entry_set_pathname(entry, (dest / name).c_str());
    if (const char* link = archive_entry_hardlink(entry)) {
      std::string target = strip(link, strip_components);
      if (target.empty())
        continue;
      if (!contained(target))
        return unsafe(file,
                      "hard link '" + name + "' points to '" + link + "', outside the destination");
      if (!no_link_on_the_way(dest, target))
        return unsafe(file, "hard link '" + name + "' points through a symbolic link");
      archive_entry_set_hardlink(entry, (dest / target).c_str());
    }
    if (archive_write_header(writer.get(), entry) != ARCHIVE_OK)
      return archive_error(writer.get(), file);
    const void* block;
    size_t size;
    la_int64_t offset;
    int data;
    while ((data = archive_read_data_block(reader.get(), &block, &size, &offset)) == ARCHIVE_OK) {
      if (archive_write_data_block(writer.get(), block, size, offset) != ARCHIVE_OK)
        return archive_error(writer.get(), file);
    }
    if (data != ARCHIVE_EOF)
      return archive_error(reader.get(), file);
    if (archive_write_finish_entry(writer.get()) != ARCHIVE_OK)
      return archive_error(writer.get(), file);
  }
  if (result != ARCHIVE_EOF)
    return archive_error(reader.get(), file);
  return ok_status();
}

Status extract_archive(const std::filesystem::path& file, const std::filesystem::path& dest,
                       int strip_components, bool whole_tree)
{
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno_error("cannot open", file.string(), errno, ExitCode::input);
  Status done = extract_archive(fd, file, dest, strip_components, whole_tree);
  ::close(fd);
  return done;
}

} // namespace kiln::util
