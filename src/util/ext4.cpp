#include "util/ext4.hpp"

#include <ext2fs/ext2fs.h>
#include <memory>
#include <string>
#include <vector>

namespace kiln::util {

namespace {

Error ext2_error(const std::string& what, const std::filesystem::path& file, errcode_t code)
{
  return make_error(ExitCode::build_failed,
                    what + " " + file.string() + ": " + error_message(code));
}

struct Closer {
  void operator()(struct struct_ext2_filsys* fs) const { ext2fs_close_free(&fs); }
};

} // namespace

Expected<uint64_t> clamp_ext4_times(const std::filesystem::path& file, uint64_t offset,
                                    int64_t epoch)
{
  ext2_filsys raw = nullptr;
  std::string options = "offset=" + std::to_string(offset);
  errcode_t code = ext2fs_open2(file.c_str(), options.c_str(), EXT2_FLAG_RW | EXT2_FLAG_64BITS, 0,
                                0, unix_io_manager, &raw);
  if (code)
    return ext2_error("cannot open the ext4 file system in", file, code);
  std::unique_ptr<struct struct_ext2_filsys, Closer> fs(raw);
  fs->now = static_cast<time_t>(epoch); // the superblock's write time, too
  ext2_inode_scan scan = nullptr;
  if ((code = ext2fs_open_inode_scan(fs.get(), 0, &scan)))
    return ext2_error("cannot scan the inodes of", file, code);
  int size = EXT2_INODE_SIZE(fs->super);
  std::vector<char> buffer(static_cast<size_t>(size));
  auto* inode = reinterpret_cast<ext2_inode_large*>(buffer.data());
  uint64_t changed = 0;
  const auto t = static_cast<__u32>(epoch);
  while (true) {
    ext2_ino_t ino = 0;
    code = ext2fs_get_next_inode_full(scan, &ino, reinterpret_cast<ext2_inode*>(inode), size);
    if (code == EXT2_ET_BAD_BLOCK_IN_INODE_TABLE)
      continue;
    if (code) {
      ext2fs_close_inode_scan(scan);
      return ext2_error("cannot read an inode of", file, code);
    }
    if (ino == 0)
      break;
    if (inode->i_links_count == 0)
      continue;
    inode->i_atime = t;
    inode->i_ctime = t;
    if (static_cast<int64_t>(inode->i_mtime) > epoch)
      inode->i_mtime = t;
    if (size > EXT2_GOOD_OLD_INODE_SIZE) {
      inode->i_atime_extra = 0;
      inode->i_ctime_extra = 0;
      inode->i_mtime_extra = 0;
      inode->i_crtime = t;
      inode->i_crtime_extra = 0;
    }
    if ((code =
             ext2fs_write_inode_full(fs.get(), ino, reinterpret_cast<ext2_inode*>(inode), size))) {
      ext2fs_close_inode_scan(scan);
      return ext2_error("cannot write an inode of", file, code);
    }
    ++changed;
  }
  ext2fs_close_inode_scan(scan);
  ext2_filsys closing = fs.release();
  if ((code = ext2fs_close_free(&closing)))
    return ext2_error("cannot close the ext4 file system in", file, code);
  return changed;
}

} // namespace kiln::util
