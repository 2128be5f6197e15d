#include "bake/exporters/raw_disk.hpp"

#include "image/debversion.hpp"
#include "util/ext4.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/process.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fcntl.h>
#include <linux/openat2.h>
#include <set>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>

namespace kiln::bake {

namespace fs = std::filesystem;

namespace {

// Prints each line of a tool's output as a line of the export's progress.
struct Echo : util::ProcessObserver {
  void on_line(std::string_view line) override
  {
    std::printf("  %.*s\n", static_cast<int>(line.size()), line.data());
    std::fflush(stdout);
  }
};

Status run_tool(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env)
{
  util::ProcessSpec spec;
  spec.argv = argv;
  std::vector<std::string> env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C.UTF-8"};
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  spec.env = env;
  Echo echo;
  auto ran = util::run_process(spec, &echo);
  if (!ran)
    return std::move(ran).error();
  if (!ran->success())
    return make_error(ExitCode::build_failed,
                      fs::path(argv[0]).filename().string() + " failed (" + ran->describe() + ")");
  return ok_status();
}

// Opens TREE/REL as a regular file, its links resolved inside the tree as the image would.
Expected<int> open_in_tree(const fs::path& tree, const std::string& rel)
{
  int root = ::open(tree.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    return errno_error("cannot open", tree.string(), errno);
  struct open_how how {};
  how.flags = O_RDONLY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  int fd = static_cast<int>(::syscall(SYS_openat2, root, rel.c_str(), &how, sizeof how));
  int err = errno;
  ::close(root);
  if (fd < 0)
    return errno_error("cannot open", "/" + rel + " in the image", err);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return make_error(ExitCode::build_failed, "/" + rel + " in the image is not a regular file");
  }
  return fd;
}

// Copies the image's TREE/REL to `target` on the host, with the time `epoch`.
Expected<uint64_t> copy_from_tree(const fs::path& tree, const std::string& rel,
                                  const fs::path& target, int64_t epoch)
{
  auto in = open_in_tree(tree, rel);
  if (!in)
    return std::move(in).error();
  KILN_TRY(util::make_dirs(target.parent_path()));
  int out = ::open(target.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) {
    ::close(*in);
    return errno_error("cannot write", target.string(), errno);
  }
  uint64_t total = 0;
  char buffer[1 << 16];
  ssize_t n = 0;
  while ((n = ::read(*in, buffer, sizeof buffer)) > 0) {
    if (::write(out, buffer, static_cast<size_t>(n)) != n) {
      n = -1;
      break;
    }
    total += static_cast<uint64_t>(n);
  }
  int err = errno;
  ::close(*in);
  ::close(out);
  if (n < 0)
    return errno_error("cannot copy /" + rel + " from the image to", target.string(), err);
  struct timespec times[2] = {{epoch, 0}, {epoch, 0}};
  ::utimensat(AT_FDCWD, target.c_str(), times, 0);
  return total;
}

// What the tree holds, walked without following links or leaving its file system.
Expected<image::TreeUsage> measure(const fs::path& tree)
{
  image::TreeUsage usage;
  std::set<std::pair<dev_t, ino_t>> linked;
  std::error_code ec;
  auto options = fs::directory_options::skip_permission_denied;
  for (auto it = fs::recursive_directory_iterator(tree, options, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0)
      continue;
    if (st.st_nlink > 1 && !S_ISDIR(st.st_mode) && !linked.insert({st.st_dev, st.st_ino}).second)
      continue;
    ++usage.inodes;
    if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
      usage.bytes += (static_cast<uint64_t>(st.st_size) + 4095) / 4096 * 4096;
    else if (S_ISLNK(st.st_mode) && st.st_size >= 60) // longer targets take a block
      usage.bytes += 4096;
  }
  if (ec)
    return errno_error("cannot read", tree.string(), ec.value());
  return usage;
}

double seconds_since(std::chrono::steady_clock::time_point start)
{
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Without a rootfs tar to name the image, the disk's ids derive from every entry's path, type,
// mode, owner, size, link target and clamped time, in sorted order: the same for every bake of
// the same image (a layer's digest is not: its times are the bake's own).
std::string tree_identity(const fs::path& tree, int64_t epoch)
{
  std::vector<std::string> entries;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(tree, fs::directory_options::none, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0)
      continue;
    std::string entry = it->path().lexically_relative(tree).string();
    for (auto number : {static_cast<int64_t>(st.st_mode), static_cast<int64_t>(st.st_uid),
                        static_cast<int64_t>(st.st_gid), static_cast<int64_t>(st.st_size),
                        std::min<int64_t>(st.st_mtim.tv_sec, epoch)})
      entry += '\0' + std::to_string(number);
    if (S_ISLNK(st.st_mode))
      entry += '\0' + fs::read_symlink(it->path(), ec).string();
    entries.push_back(std::move(entry));
  }
  std::sort(entries.begin(), entries.end());
  util::Sha256 hash;
  for (const auto& entry : entries)
    hash.update(entry + '\n');
  return hash.hex_digest();
}

// The newest kernel in the image's /boot that has its initramfs beside it.
Expected<std::string> newest_kernel(const fs::path& tree)
{
  std::string best;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(tree / "boot", ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind("vmlinuz-", 0) != 0 || !entry.is_regular_file() || entry.is_symlink())
      continue;
    std::string version = name.substr(8);
    if (!fs::is_regular_file(fs::symlink_status(tree / "boot" / ("initrd.img-" + version))))
      continue;
    if (best.empty() || image::compare_debian_versions(version, best) > 0)
      best = version;
  }
  if (best.empty())
    return make_error(ExitCode::build_failed,
                      "the image has no kernel with an initramfs in /boot (vmlinuz-VERSION and "
                      "initrd.img-VERSION)",
                      "kiln's boot layer installs one; a definition that removes it, or "
                      "installs a kernel without initramfs-tools, cannot make a disk");
  return best;
}

// The EFI system partition's files, staged on the host: the boot loader at the removable-media
// path (no firmware variables needed), its configuration, the kernel and the initramfs.
Expected<uint64_t> stage_esp(const RawDiskJob& job, const std::string& kernel,
                             const image::DiskIds& ids, const fs::path& stage)
{
  uint64_t bytes = 0;
  struct Copy {
    std::string from;
    const char* to;
  };
  const Copy copies[] = {{"usr/lib/systemd/boot/efi/systemd-bootx64.efi", "EFI/BOOT/BOOTX64.EFI"},
                         {"boot/vmlinuz-" + kernel, "kiln/vmlinuz"},
                         {"boot/initrd.img-" + kernel, "kiln/initrd.img"}};
  for (const auto& copy : copies) {
    auto copied = copy_from_tree(job.tree, copy.from, stage / copy.to, job.source_date_epoch);
    if (!copied)
      return std::move(copied).error();
    bytes += *copied;
  }
  KILN_TRY(util::make_dirs(stage / "loader/entries"));
  KILN_TRY(util::write_file_atomic(stage / "loader/loader.conf", image::loader_conf()));
  KILN_TRY(util::write_file_atomic(stage / "loader/entries/kiln.conf",
                                   image::loader_entry(job.title, ids)));
  // mcopy -m keeps these times: every file and folder gets the epoch.
  struct timespec times[2] = {{job.source_date_epoch, 0}, {job.source_date_epoch, 0}};
  std::error_code ec;
  for (const auto& entry : fs::recursive_directory_iterator(stage, ec))
    ::utimensat(AT_FDCWD, entry.path().c_str(), times, AT_SYMLINK_NOFOLLOW);
  return bytes;
}

Status write_esp(const RawDiskJob& job, const image::DiskLayout& layout, const image::DiskIds& ids,
                 const fs::path& stage)
{
  std::string epoch = "SOURCE_DATE_EPOCH=" + std::to_string(job.source_date_epoch);
  // --invariant before -i: the serial is ours, every other varying field a constant.
  // One sector per cluster: enough clusters for FAT32 on a small partition.
  KILN_TRY(run_tool({"mkfs.fat", "-F", "32", "-s", "1", "--invariant", "-i", ids.esp_serial, "-n",
                     "KILN-ESP", "--offset", std::to_string(layout.esp_offset / 512), "-S", "512",
                     job.file.string(), std::to_string(layout.esp_size / 1024)},
                    {epoch}));
  std::string image = job.file.string() + "@@" + std::to_string(layout.esp_offset);
  return run_tool({"mcopy", "-s", "-m", "-Q", "-i", image, (stage / "EFI").string(),
                   (stage / "loader").string(), (stage / "kiln").string(), "::/"},
                  {epoch, "MTOOLS_SKIP_CHECK=1"});
}

Status write_root(const RawDiskJob& job, const image::DiskLayout& layout, const image::DiskIds& ids)
{
  std::string extended = "offset=" + std::to_string(layout.root_offset) +
                         ",hash_seed=" + ids.root_hash_seed + ",root_owner=0:0";
  std::vector<std::string> argv = {"mkfs.ext4",      "-q", "-F",          "-b", "4096",   "-L",
                                   "kiln-root",      "-U", ids.root_uuid, "-E", extended, "-d",
                                   job.tree.string()};
  if (layout.root_inodes > 0) {
    argv.push_back("-N");
    argv.push_back(std::to_string(layout.root_inodes));
  }
  argv.push_back(job.file.string());
  argv.push_back(std::to_string(layout.root_size / 4096));
  // mke2fs's own times (superblock, journal, lost+found) come from this; the files' times are
  // clamped after.
  auto start = std::chrono::steady_clock::now();
  Status made = run_tool(argv, {"E2FSPROGS_FAKE_TIME=" + std::to_string(job.source_date_epoch)});
  if (!made) {
    Error error = made.error();
    error.message = "writing the root file system (" + image::human_size(layout.root_size) +
                    ") failed: " + error.message;
    error.hint = "the image's root needs about " + image::human_size(layout.root_needed) +
                 (layout.root_size_given ? "; raise requirements.storage.root_size" : "");
    return error;
  }
  std::printf("disk: root file system written in %.2f s\n", seconds_since(start));
  start = std::chrono::steady_clock::now();
  auto clamped = util::clamp_ext4_times(job.file, layout.root_offset, job.source_date_epoch);
  if (!clamped)
    return std::move(clamped).error();
  std::printf("disk: file times clamped to the epoch in %.2f s\n", seconds_since(start));
  std::fflush(stdout);
  return ok_status();
}

} // namespace

std::vector<std::string> missing_disk_tools(bool convert)
{
  struct Tool {
    const char* program;
    const char* package;
  };
  const Tool tools[] = {{"sfdisk", "fdisk"},
                        {"mkfs.ext4", "e2fsprogs"},
                        {"mkfs.fat", "dosfstools"},
                        {"mcopy", "mtools"},
                        {"qemu-img", "qemu-utils"}};
  std::vector<std::string> missing;
  for (const auto& tool : tools) {
    if (!convert && std::string(tool.program) == "qemu-img")
      continue;
    if (util::find_program(tool.program).empty() &&
        !fs::exists(fs::path("/usr/sbin") / tool.program) &&
        !fs::exists(fs::path("/sbin") / tool.program))
      missing.push_back(std::string(tool.program) + " (" + tool.package + ")");
  }
  return missing;
}

std::string disk_tool_versions()
{
  static const std::string versions = [] {
    int code = -1;
    auto listed = util::capture_output({"dpkg-query", "-W", "-f", "${Package} ${Version};",
                                        "e2fsprogs", "dosfstools", "mtools", "fdisk", "qemu-utils"},
                                       &code);
    return listed && code == 0 ? std::string(util::trim_copy(*listed)) : std::string("unknown");
  }();
  return versions;
}

Expected<RawDisk> write_raw_disk(const RawDiskJob& job)
{
  auto start = std::chrono::steady_clock::now();
  RawDisk disk;
  auto kernel = newest_kernel(job.tree);
  if (!kernel)
    return std::move(kernel).error();
  disk.kernel = *kernel;
  auto usage = measure(job.tree);
  if (!usage)
    return std::move(usage).error();
  disk.usage = *usage;
  image::DiskIds ids = image::disk_ids(
      job.image_digest.empty() ? tree_identity(job.tree, job.source_date_epoch) : job.image_digest);
  fs::path stage = job.file.parent_path() / (".esp-" + job.file.filename().string());
  KILN_TRY(util::remove_tree(stage));
  auto boot_bytes = stage_esp(job, *kernel, ids, stage);
  if (!boot_bytes) {
    (void)util::remove_tree(stage);
    return std::move(boot_bytes).error();
  }
  auto layout = image::plan_disk(*usage, *boot_bytes, job.root_size);
  if (!layout) {
    (void)util::remove_tree(stage);
    return std::move(layout).error();
  }
  disk.layout = *layout;
  std::printf(
      "disk: kernel %s; tree %s in %llu files (measured and ESP staged in %.2f s); root %s (needs "
      "%s); disk %s\n",
      kernel->c_str(), image::human_size(usage->bytes).c_str(),
      static_cast<unsigned long long>(usage->inodes), seconds_since(start),
      image::human_size(layout->root_size).c_str(), image::human_size(layout->root_needed).c_str(),
      image::human_size(layout->disk_size).c_str());
  std::fflush(stdout);
  Status written = [&]() -> Status {
    int fd = ::open(job.file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
      return errno_error("cannot write", job.file.string(), errno);
    bool sized = ::ftruncate(fd, static_cast<off_t>(layout->disk_size)) == 0;
    int err = errno;
    ::close(fd);
    if (!sized)
      return errno_error("cannot size", job.file.string(), err);
    fs::path script = stage / "partitions.sfdisk";
    KILN_TRY(util::write_file_atomic(script, image::sfdisk_script(*layout, ids)));
    KILN_TRY(
        run_tool({"/bin/sh", "-c", "sfdisk --quiet --no-reread --no-tell-kernel \"$1\" < \"$2\"",
                  "sfdisk", job.file.string(), script.string()},
                 {}));
    // The two file systems lie in disjoint ranges of the file: the EFI system partition is
    // written beside the root, whose mke2fs takes most of the time.
    Status esp = ok_status();
    std::thread esp_writer([&] { esp = write_esp(job, *layout, ids, stage); });
    Status root = write_root(job, *layout, ids);
    esp_writer.join();
    KILN_TRY(std::move(esp));
    return root;
  }();
  (void)util::remove_tree(stage);
  if (!written) {
    fs::remove(job.file);
    return std::move(written).error();
  }
  return disk;
}

} // namespace kiln::bake
