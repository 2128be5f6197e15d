#include "bake/base_disk.hpp"

#include "image/out_dir.hpp"

#include <array>
#include <cstdint>
#include <fstream>

namespace kiln::bake {

namespace fs = std::filesystem;

namespace {

uint64_t big_endian(const unsigned char* bytes, int count)
{
  uint64_t value = 0;
  for (int i = 0; i < count; ++i)
    value = (value << 8) | bytes[i];
  return value;
}

// The disk outputs the VM builder can boot, in the order it prefers them.
constexpr std::array<const char*, 2> kBootable = {"disk.raw", "disk.qcow2"};

} // namespace

Expected<DiskFormat> disk_format_of(const fs::path& file)
{
  std::ifstream in(file, std::ios::binary);
  std::array<unsigned char, 104> header{};
  in.read(reinterpret_cast<char*>(header.data()), header.size());
  if (in.gcount() < 4 ||
      !(header[0] == 'Q' && header[1] == 'F' && header[2] == 'I' && header[3] == 0xfb)) {
    std::error_code ec;
    return DiskFormat{"raw", static_cast<uint64_t>(fs::file_size(file, ec))};
  }
  if (in.gcount() < 104)
    return make_error(ExitCode::input, file.string() + " is a damaged qcow2 (a short header)");
  uint64_t version = big_endian(&header[4], 4);
  uint64_t backing_offset = big_endian(&header[8], 8);
  // Version 3 headers have incompatible feature bits; bit 2 is an external data file.
  uint64_t incompatible = version >= 3 ? big_endian(&header[72], 8) : 0;
  if (backing_offset != 0 || (incompatible & 4) != 0)
    return make_error(ExitCode::input,
                      file.string() + " is a qcow2 that reads another file (" +
                          (backing_offset ? "a backing file" : "an external data file") + ")",
                      "give a self-contained disk: qemu-img convert -O qcow2 " + file.string() +
                          " flat.qcow2");
  return DiskFormat{"qcow2", big_endian(&header[24], 8)};
}

Expected<BaseDisk> resolve_base_disk(const spec::DiskBase& base, util::DigestMemo& digests,
                                     StepLog& log)
{
  BaseDisk disk;
  std::string expected = base.sha256;
  if (fs::is_directory(base.path)) {
    auto image = image::out::read_finished(base.path);
    if (!image)
      return std::move(image).error();
    for (const char* name : kBootable) {
      if (!image->sha256_of(name).empty()) {
        disk.path = base.path / name;
        break;
      }
    }
    if (disk.path.empty())
      return make_error(ExitCode::input,
                        "base disk " + base.path.string() + " holds " + image->name + " " +
                            image->version + " but no raw or qcow2 disk",
                        "add raw or qcow2 to that image's outputs: and build it again");
    std::string recorded = image->sha256_of(disk.path.filename().string());
    if (!expected.empty() && expected != recorded)
      return make_error(ExitCode::input,
                        "base disk " + disk.path.string() + ": its manifest records sha256 " +
                            recorded + ", the definition expects " + expected,
                        "update base.sha256, or point base.disk at the image it names");
    expected = recorded;
    disk.image = image->name + " " + image->version;
  } else {
    disk.path = base.path;
  }
  if (!fs::is_regular_file(disk.path))
    return make_error(ExitCode::input, "base disk " + disk.path.string() + " is not a file");
  log.note("checking base disk " + disk.path.string());
  auto sha256 = digests.sha256_file(disk.path);
  if (!sha256)
    return std::move(sha256).error();
  if (*sha256 != expected)
    return make_error(ExitCode::input,
                      "base disk " + disk.path.string() + " has sha256 " + *sha256 + ", but " +
                          expected + " was expected",
                      disk.image.empty()
                          ? "the file changed or is not the one meant: check base.sha256"
                          : "the disk no longer matches its image's manifest: build that image "
                            "again");
  disk.sha256 = *sha256;
  auto format = disk_format_of(disk.path);
  if (!format)
    return std::move(format).error();
  disk.format = format->name;
  disk.virtual_size = format->virtual_size;
  log.note("base disk " + disk.path.string() + " (" + disk.format + ", sha256 " + disk.sha256 +
           (disk.image.empty() ? "" : ", image " + disk.image) + ")");
  return disk;
}

} // namespace kiln::bake
