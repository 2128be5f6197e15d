#include "image/tar_export.hpp"

#include "util/framed_zstd.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/interrupt.hpp"

#include <algorithm>
#include <archive.h>
#include <archive_entry.h>
#include <cerrno>
#include <fcntl.h>
#include <map>
#include <memory>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <vector>

namespace kiln::image {

namespace fs = std::filesystem;

namespace {

// The compressed file: frames from FramedZstdWriter, written, hashed and counted.
struct Sink {
  int fd = -1;
  util::Sha256 hash;
  uint64_t size = 0;
  int error = 0;

  Status write(std::string_view bytes)
  {
    const char* data = bytes.data();
    size_t left = bytes.size();
    while (left > 0) {
      ssize_t n = ::write(fd, data, left);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0) {
        error = errno;
        return errno_error("cannot write", "the archive", errno);
      }
      data += n;
      left -= static_cast<size_t>(n);
    }
    hash.update(bytes.data(), bytes.size());
    size += bytes.size();
    return ok_status();
  }
};

// libarchive's output (the uncompressed tar) goes to the framed writer.
la_ssize_t write_callback(struct archive*, void* user, const void* buffer, size_t length)
{
  auto* framed = static_cast<util::FramedZstdWriter*>(user);
  if (!framed->write(std::string_view(static_cast<const char*>(buffer), length)))
    return -1;
  return static_cast<la_ssize_t>(length);
}

using ArchivePtr = std::unique_ptr<struct archive, int (*)(struct archive*)>;
using EntryPtr = std::unique_ptr<struct archive_entry, void (*)(struct archive_entry*)>;

class Writer {
public:
  Writer(struct archive* archive, const fs::path& tree, int64_t epoch, const TarProgress& progress,
         const util::Redactor* secrets)
      : archive_(archive), tree_(tree), epoch_(epoch), progress_(progress), secrets_(secrets)
  {
  }

  Status write_tree() { return write_children(tree_, ""); }
  uint64_t entries() const { return entries_; }

private:
  Status write_children(const fs::path& dir, const std::string& prefix)
  {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec))
      names.push_back(entry.path().filename().string());
    if (ec)
      return errno_error("cannot list", dir.string(), ec.value());
    std::sort(names.begin(), names.end());
    for (const auto& name : names)
      KILN_TRY(write_entry(dir / name, prefix + name));
    return ok_status();
  }

  Status write_entry(const fs::path& path, const std::string& name)
  {
    if (util::interrupt_signal() != 0)
      return make_error(ExitCode::interrupted, "export interrupted");
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0)
      return errno_error("cannot read", path.string(), errno);
    if (S_ISSOCK(st.st_mode))
      return ok_status(); // sockets cannot be archived and mean nothing in an image
    if (auto secret = secrets_ ? secrets_->find_in(name) : std::nullopt)
      return secret_found(*secret, name);
    EntryPtr entry(archive_entry_new(), archive_entry_free);
    archive_entry_set_pathname(entry.get(), name.c_str());
    archive_entry_set_mode(entry.get(), st.st_mode);
    archive_entry_set_uid(entry.get(), st.st_uid);
    archive_entry_set_gid(entry.get(), st.st_gid);
    archive_entry_set_mtime(entry.get(), std::min<int64_t>(st.st_mtime, epoch_), 0);
    bool is_dev_dir = name == "dev" && S_ISDIR(st.st_mode);
    bool hardlink = false;
    if (S_ISREG(st.st_mode)) {
      hardlink = link_or_remember(st, name, entry.get());
      if (!hardlink)
        archive_entry_set_size(entry.get(), st.st_size);
      add_capability(path, entry.get());
    } else if (S_ISLNK(st.st_mode)) {
      std::error_code ec;
      std::string target = fs::read_symlink(path, ec).string();
      if (auto secret = secrets_ ? secrets_->find_in(target) : std::nullopt)
        return secret_found(*secret, name);
      archive_entry_set_symlink(entry.get(), target.c_str());
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      archive_entry_set_rdevmajor(entry.get(), major(st.st_rdev));
      archive_entry_set_rdevminor(entry.get(), minor(st.st_rdev));
    }
    if (archive_write_header(archive_, entry.get()) != ARCHIVE_OK)
      return archive_error("cannot write entry " + name);
    if (S_ISREG(st.st_mode) && !hardlink && st.st_size > 0)
      KILN_TRY(copy_content(path, name));
    ++entries_;
    input_bytes_ += static_cast<uint64_t>(st.st_size);
    if (progress_ && entries_ % 2048 == 0)
      progress_(entries_, input_bytes_);
    if (S_ISDIR(st.st_mode) && !is_dev_dir)
      return write_children(path, name + "/");
    return ok_status();
  }

  // Files with several links are written once; later names become hard-link entries.
  bool link_or_remember(const struct stat& st, const std::string& name, struct archive_entry* entry)
  {
    if (st.st_nlink < 2)
      return false;
    auto key = std::make_pair(st.st_dev, st.st_ino);
    auto [it, inserted] = links_.emplace(key, name);
    if (inserted)
      return false;
    archive_entry_set_hardlink(entry, it->second.c_str());
    archive_entry_set_size(entry, 0);
    return true;
  }

  void add_capability(const fs::path& path, struct archive_entry* entry)
  {
    char value[256];
    ssize_t n = ::lgetxattr(path.c_str(), "security.capability", value, sizeof value);
    if (n > 0)
      archive_entry_xattr_add_entry(entry, "security.capability", value, static_cast<size_t>(n));
  }

  Error secret_found(const std::string& secret, const std::string& name)
  {
    return make_error(ExitCode::build_failed,
                      "secret '" + secret + "' found in the image: /" + name,
                      "read secrets from /run/secrets/NAME only; write nothing derived from them "
                      "into the image");
  }

  Status copy_content(const fs::path& path, const std::string& name)
  {
    std::optional<util::Redactor::Scanner> scanner;
    if (secrets_)
      scanner.emplace(*secrets_);
    return util::read_blocks(path, [&](std::string_view block) -> Status {
      if (scanner) {
        scanner->feed(block);
        if (scanner->found())
          return secret_found(*scanner->found(), name);
      }
      if (archive_write_data(archive_, block.data(), block.size()) < 0)
        return archive_error("cannot write the content of " + path.string());
      return ok_status();
    });
  }

  Error archive_error(const std::string& what)
  {
    int err = archive_errno(archive_);
    if (err == ENOSPC)
      return errno_error(what, "(archive)", err);
    const char* text = archive_error_string(archive_);
    return make_error(ExitCode::build_failed, what + ": " + (text ? text : "unknown error"));
  }

  struct archive* archive_;
  fs::path tree_;
  int64_t epoch_;
  const TarProgress& progress_;
  const util::Redactor* secrets_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
  uint64_t entries_ = 0;
  uint64_t input_bytes_ = 0;
};

} // namespace

Expected<TarResult> write_rootfs_tar(const fs::path& tree, const fs::path& dest,
                                     int64_t source_date_epoch, const TarProgress& progress,
                                     const util::Redactor* secrets)
{
  Sink sink;
  sink.fd = ::open(dest.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (sink.fd < 0)
    return errno_error("cannot create", dest.string(), errno);
  // Compressed as one zstd frame per content-defined chunk of the tar (util/framed_zstd.hpp):
  // the store keeps those frames as they are, so publish and pull move the file's own bytes,
  // and two versions share the frames of what their tars share. Made before the archive, which
  // may still write to it when it is freed.
  util::FramedZstdWriter framed([&sink](std::string_view bytes) { return sink.write(bytes); });
  ArchivePtr archive(archive_write_new(), archive_write_free);
  // Plain ustar headers where a name fits, a pax header only where one is needed (long or
  // non-ASCII names, large files, capabilities). No "hdrcharset" on every entry: GNU tar warns
  // about that keyword once per file. A name that is not UTF-8 still gets it, for itself alone.
  archive_write_set_format_pax_restricted(archive.get());
  archive_write_set_bytes_in_last_block(archive.get(), 1);
  Status written = ok_status();
  if (archive_write_open(archive.get(), &framed, nullptr, write_callback, nullptr) != ARCHIVE_OK) {
    written = make_error(ExitCode::build_failed, std::string("cannot start the archive: ") +
                                                     archive_error_string(archive.get()));
  }
  Writer writer(archive.get(), tree, source_date_epoch, progress, secrets);
  if (written)
    written = writer.write_tree();
  if (written && archive_write_close(archive.get()) != ARCHIVE_OK)
    written = make_error(ExitCode::build_failed, "cannot finish " + dest.string());
  if (written)
    written = framed.finish();
  int close_result = ::fsync(sink.fd) == 0 ? ::close(sink.fd) : (::close(sink.fd), -1);
  if (sink.error != 0)
    return errno_error("cannot write", dest.string(), sink.error);
  if (!written)
    return std::move(written).error();
  if (close_result != 0)
    return errno_error("cannot write", dest.string(), errno);
  return TarResult{sink.hash.hex_digest(), sink.size, writer.entries()};
}

} // namespace kiln::image
