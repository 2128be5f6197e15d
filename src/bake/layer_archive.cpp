#include "bake/layer_archive.hpp"

#include "util/fs.hpp"

#include <algorithm>
#include <archive.h>
#include <archive_entry.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/openat2.h>
#include <map>
#include <memory>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <vector>

namespace kiln::bake {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using ArchivePtr = std::unique_ptr<struct archive, int (*)(struct archive*)>;
using EntryPtr = std::unique_ptr<struct archive_entry, void (*)(struct archive_entry*)>;

constexpr const char* kOpaque = "trusted.overlay.opaque";

// overlayfs' own attributes that only keep inode numbers steady across copy-up: a layer unpacked
// without them works the same. Any other trusted.* (a redirect, a metadata-only copy) would
// change what the layer means, and makes it unshareable.
bool droppable(const std::string& name)
{
  for (const char* known :
       {"trusted.overlay.origin", "trusted.overlay.impure", "trusted.overlay.nlink",
        "trusted.overlay.upper", "trusted.overlay.uuid"}) {
    if (name == known)
      return true;
  }
  return false;
}

// The character devices a base tree may hold besides whiteouts: what mmdebstrap makes in /dev.
bool allowed_device(unsigned major_number, unsigned minor_number)
{
  if (major_number == 0 && minor_number == 0) // an overlayfs whiteout
    return true;
  if (major_number == 1) // null, zero, full, random, urandom
    return minor_number == 3 || minor_number == 5 || minor_number == 7 || minor_number == 8 ||
           minor_number == 9;
  return major_number == 5 && minor_number <= 2; // tty, console, ptmx
}

json owner_mode_time(const struct stat& st)
{
  return {{"mode", st.st_mode & 07777},
          {"uid", st.st_uid},
          {"gid", st.st_gid},
          {"mtime", {st.st_mtim.tv_sec, st.st_mtim.tv_nsec}}};
}

// The extended attributes of `path` (not following a link), by name.
std::map<std::string, std::string> xattrs_of(const fs::path& path)
{
  std::map<std::string, std::string> found;
  ssize_t length = ::llistxattr(path.c_str(), nullptr, 0);
  if (length <= 0)
    return found;
  std::string names(static_cast<size_t>(length), '\0');
  length = ::llistxattr(path.c_str(), names.data(), names.size());
  for (size_t at = 0; length > 0 && at < static_cast<size_t>(length);) {
    std::string name(names.c_str() + at);
    at += name.size() + 1;
    ssize_t size = ::lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
    if (size < 0)
      continue;
    std::string value(static_cast<size_t>(size), '\0');
    size = ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
    if (size >= 0)
      found[name] = value.substr(0, static_cast<size_t>(size));
  }
  return found;
}

class Writer {
public:
  Writer(struct archive* archive, LayerArchive& result) : archive_(archive), result_(result) {}

  Status write_children(const fs::path& dir, const std::string& prefix)
  {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec))
      names.push_back(entry.path().filename().string());
    if (ec)
      return errno_error("cannot list", dir.string(), ec.value());
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      KILN_TRY(write_entry(dir / name, prefix + name));
      if (!result_.unshareable.empty())
        return ok_status();
    }
    return ok_status();
  }

private:
  Status write_entry(const fs::path& path, const std::string& name)
  {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0)
      return errno_error("cannot read", path.string(), errno);
    if (S_ISSOCK(st.st_mode) || S_ISBLK(st.st_mode))
      return unshareable(name, S_ISSOCK(st.st_mode) ? "is a socket" : "is a block device");
    if (S_ISCHR(st.st_mode)) {
      if (!allowed_device(major(st.st_rdev), minor(st.st_rdev)))
        return unshareable(name, "is a device (" + std::to_string(major(st.st_rdev)) + ":" +
                                     std::to_string(minor(st.st_rdev)) + ")");
      json device = owner_mode_time(st);
      device["path"] = name;
      device["major"] = major(st.st_rdev);
      device["minor"] = minor(st.st_rdev);
      result_.specials["devices"].push_back(device);
      return ok_status();
    }
    EntryPtr entry(archive_entry_new(), archive_entry_free);
    archive_entry_set_pathname(entry.get(), name.c_str());
    archive_entry_set_mode(entry.get(), st.st_mode);
    archive_entry_set_uid(entry.get(), st.st_uid);
    archive_entry_set_gid(entry.get(), st.st_gid);
    archive_entry_set_mtime(entry.get(), st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    for (const auto& [key, value] : xattrs_of(path)) {
      if (key == kOpaque && S_ISDIR(st.st_mode)) {
        result_.specials["opaque"].push_back({{"path", name}, {"value", value}});
      } else if (droppable(key)) {
        continue;
      } else if (key.rfind("trusted.", 0) == 0) {
        return unshareable(name, "has the attribute " + key);
      } else {
        archive_entry_xattr_add_entry(entry.get(), key.c_str(), value.data(), value.size());
      }
    }
    bool hardlink = false;
    if (S_ISREG(st.st_mode)) {
      hardlink = link_or_remember(st, name, entry.get());
      if (!hardlink)
        archive_entry_set_size(entry.get(), st.st_size);
    } else if (S_ISLNK(st.st_mode)) {
      std::error_code ec;
      archive_entry_set_symlink(entry.get(), fs::read_symlink(path, ec).c_str());
      if (ec)
        return errno_error("cannot read the link", path.string(), ec.value());
    }
    if (archive_write_header(archive_, entry.get()) != ARCHIVE_OK)
      return archive_failure("cannot write entry " + name);
    if (S_ISREG(st.st_mode) && !hardlink && st.st_size > 0)
      KILN_TRY(copy_content(path));
    ++result_.entries;
    if (S_ISDIR(st.st_mode))
      return write_children(path, name + "/");
    return ok_status();
  }

  Status unshareable(const std::string& name, const std::string& why)
  {
    result_.unshareable = "/" + name + " " + why;
    return ok_status();
  }

  bool link_or_remember(const struct stat& st, const std::string& name, struct archive_entry* entry)
  {
    if (st.st_nlink < 2)
      return false;
    auto [it, inserted] = links_.emplace(std::make_pair(st.st_dev, st.st_ino), name);
    if (inserted)
      return false;
    archive_entry_set_hardlink(entry, it->second.c_str());
    archive_entry_set_size(entry, 0);
    return true;
  }

  Status copy_content(const fs::path& path)
  {
    return util::read_blocks(path, [&](std::string_view block) -> Status {
      if (archive_write_data(archive_, block.data(), block.size()) < 0)
        return archive_failure("cannot write the content of " + path.string());
      return ok_status();
    });
  }

  Error archive_failure(const std::string& what)
  {
    const char* text = archive_error_string(archive_);
    return make_error(ExitCode::build_failed, what + ": " + (text ? text : "unknown error"));
  }

  struct archive* archive_;
  LayerArchive& result_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
};

// ---- restoring ----

Error refused(const std::string& what)
{
  return make_error(ExitCode::input, "refusing a shared layer's special entry: " + what,
                    "the layer document is damaged or was not written by kiln; it is not used");
}

// Opens `relative` below `root` without following any link and without leaving it.
int open_beneath(int root, const std::string& relative, int flags)
{
  struct open_how how {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC | O_NOFOLLOW);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  return static_cast<int>(::syscall(SYS_openat2, root, relative.c_str(), &how, sizeof how));
}

struct Closer {
  int fd;
  ~Closer()
  {
    if (fd >= 0)
      ::close(fd);
  }
};

struct Owned {
  mode_t mode;
  uid_t uid;
  gid_t gid;
  struct timespec mtime;
};

Expected<Owned> owned_from(const json& j, const std::string& what)
{
  try {
    Owned o{j.at("mode").get<mode_t>(), j.at("uid").get<uid_t>(), j.at("gid").get<gid_t>(), {}};
    o.mtime.tv_sec = j.at("mtime").at(0).get<time_t>();
    o.mtime.tv_nsec = j.at("mtime").at(1).get<long>();
    if ((o.mode & ~07777u) != 0 || o.mtime.tv_nsec < 0 || o.mtime.tv_nsec > 999999999)
      return refused(what + ": mode or time out of range");
    return o;
  } catch (const json::exception&) {
    return refused(what + ": no owner, mode or time");
  }
}

Expected<std::string> path_of(const json& j)
{
  if (!j.is_object() || !j.contains("path") || !j["path"].is_string())
    return refused("an entry without a path");
  std::string path = j["path"];
  if (!util::is_plain_relative_path(path))
    return refused("'" + path + "' is not a plain relative path");
  return path;
}

// The folder `relative` lives in, opened below the tree, and its own name.
Expected<std::pair<int, std::string>> open_parent(int root, const std::string& relative)
{
  fs::path p(relative);
  std::string parent = p.parent_path().string();
  int fd = parent.empty() ? ::dup(root) : open_beneath(root, parent, O_RDONLY | O_DIRECTORY);
  if (fd < 0)
    return refused("the folder of '" + relative + "' cannot be opened below the tree (" +
                   std::strerror(errno) + ")");
  return std::make_pair(fd, p.filename().string());
}

Status restore_device(int root, const json& j)
{
  auto path = path_of(j);
  if (!path)
    return std::move(path).error();
  auto owned = owned_from(j, *path);
  if (!owned)
    return std::move(owned).error();
  unsigned major_number = j.value("major", 1000u), minor_number = j.value("minor", 1000u);
  if (!allowed_device(major_number, minor_number))
    return refused("/" + *path + " would be the device " + std::to_string(major_number) + ":" +
                   std::to_string(minor_number));
  auto parent = open_parent(root, *path);
  if (!parent)
    return std::move(parent).error();
  Closer closer{parent->first};
  const char* name = parent->second.c_str();
  struct stat folder {};
  if (::fstat(parent->first, &folder) != 0)
    return errno_error("cannot read the folder of", *path, errno);
  if (::mknodat(parent->first, name, S_IFCHR | owned->mode, makedev(major_number, minor_number)) !=
      0)
    return errno_error("cannot make", *path, errno);
  struct timespec times[2] = {{0, UTIME_OMIT}, owned->mtime};
  struct timespec folder_times[2] = {{0, UTIME_OMIT}, folder.st_mtim};
  if (::fchownat(parent->first, name, owned->uid, owned->gid, AT_SYMLINK_NOFOLLOW) != 0 ||
      ::fchmodat(parent->first, name, owned->mode, 0) != 0 ||
      ::utimensat(parent->first, name, times, AT_SYMLINK_NOFOLLOW) != 0 ||
      ::futimens(parent->first, folder_times) != 0)
    return errno_error("cannot set the owner, mode or time of", *path, errno);
  return ok_status();
}

Status restore_opaque(int root, const json& j)
{
  auto path = path_of(j);
  if (!path)
    return std::move(path).error();
  std::string value = j.value("value", "");
  if (value != "y" && value != "x")
    return refused("/" + *path + ": an opaque mark of '" + value + "'");
  int fd = open_beneath(root, *path, O_RDONLY | O_DIRECTORY);
  if (fd < 0)
    return refused("/" + *path + " is not a folder below the tree");
  Closer closer{fd};
  if (::fsetxattr(fd, kOpaque, value.data(), value.size(), 0) != 0)
    return errno_error("cannot mark opaque", *path, errno);
  return ok_status();
}

} // namespace

Expected<LayerArchive> write_layer_archive(const fs::path& tree, const fs::path& dest)
{
  LayerArchive result;
  result.specials = {{"devices", json::array()}, {"opaque", json::array()}};
  struct stat root {};
  if (::lstat(tree.c_str(), &root) != 0)
    return errno_error("cannot read", tree.string(), errno);
  result.specials["root"] = owner_mode_time(root);
  if (auto opaque = xattrs_of(tree); opaque.count(kOpaque))
    return make_error(ExitCode::build_failed, "a layer's root is marked opaque: " + tree.string());
  ArchivePtr archive(archive_write_new(), archive_write_free);
  archive_write_set_format_pax(archive.get()); // nanosecond times and extended attributes
  // Names and link targets as the bytes they are, whatever kiln's locale: the reader takes them
  // back as they are.
  archive_write_set_format_option(archive.get(), "pax", "hdrcharset", "BINARY");
  archive_write_set_bytes_in_last_block(archive.get(), 1);
  if (archive_write_open_filename(archive.get(), dest.c_str()) != ARCHIVE_OK)
    return make_error(ExitCode::build_failed, "cannot create " + dest.string() + ": " +
                                                  archive_error_string(archive.get()));
  Writer writer(archive.get(), result);
  KILN_TRY(writer.write_children(tree, ""));
  if (archive_write_close(archive.get()) != ARCHIVE_OK)
    return make_error(ExitCode::build_failed, "cannot finish " + dest.string());
  return result;
}

Status restore_specials(const fs::path& tree, const json& specials)
{
  if (!specials.is_object() || !specials.contains("root"))
    return refused("no root entry");
  int root = ::open(tree.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (root < 0)
    return errno_error("cannot open", tree.string(), errno);
  Closer closer{root};
  for (const char* list : {"devices", "opaque"}) {
    const json& entries = specials.value(list, json::array());
    if (!entries.is_array())
      return refused(std::string("'") + list + "' is not a list");
    for (const auto& entry : entries)
      KILN_TRY(std::string(list) == "devices" ? restore_device(root, entry)
                                              : restore_opaque(root, entry));
  }
  auto owned = owned_from(specials["root"], "the layer's root");
  if (!owned)
    return std::move(owned).error();
  struct timespec times[2] = {{0, UTIME_OMIT}, owned->mtime};
  if (::fchown(root, owned->uid, owned->gid) != 0 || ::fchmod(root, owned->mode) != 0 ||
      ::futimens(root, times) != 0)
    return errno_error("cannot set the owner, mode or time of", tree.string(), errno);
  return ok_status();
}

} // namespace kiln::bake
