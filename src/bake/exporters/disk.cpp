#include "bake/exporters/disk.hpp"

#include "bake/exporters/raw_disk.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/process.hpp"
#include "util/strings.hpp"

#include <chrono>
#include <cstdio>

namespace kiln::bake {

namespace fs = std::filesystem;

namespace {

// Bump when the same image would give other disk bytes (layout, boot entry, tool options).
constexpr int kDiskVersion = 2;

struct Format {
  const char* name;                      // as in `outputs:`
  const char* file;                      // in OUT
  std::vector<std::string> qemu_options; // qemu-img convert's -O and -o; empty for raw
};

const Format* format_named(const std::string& name)
{
  static const std::vector<Format> formats = {
      {"raw", "disk.raw", {}},
      {"qcow2", "disk.qcow2", {"-O", "qcow2", "-c"}},
      {"vmdk", "disk.vmdk", {"-O", "vmdk", "-o", "subformat=streamOptimized"}},
      {"vhd", "disk.vhd", {"-O", "vpc", "-o", "subformat=dynamic,force_size=on"}},
  };
  for (const auto& format : formats) {
    if (name == format.name)
      return &format;
  }
  return nullptr;
}

class DiskExporter : public Exporter {
public:
  DiskExporter(const Format& format, const spec::Definition& definition)
      : format_(format), title_(definition.name + " " + definition.version),
        root_size_(definition.requirements.storage.root_size)
  {
  }

  std::string name() const override { return format_.name; }
  std::string file() const override { return format_.file; }
  std::string key_part() const override
  {
    return "v" + std::to_string(kDiskVersion) + ",root_size=" + std::to_string(root_size_) +
           ",title=" + title_ + ",tools=" + disk_tool_versions();
  }

  Expected<image::OutputFile> write(const ExportTarget& target) const override
  {
    bool raw = format_.qemu_options.empty();
    auto missing = missing_disk_tools(!raw);
    if (!missing.empty())
      return make_error(ExitCode::environment,
                        "the " + name() + " output needs " + util::join(missing, ", "),
                        "install them with apt-get (scripts/setup.sh does)");
    auto start = std::chrono::steady_clock::now();
    auto disk = raw_disk(target);
    if (!disk)
      return std::move(disk).error();
    fs::path out = target.dir / file();
    if (!raw) {
      std::printf("converting to %s\n", name().c_str());
      std::fflush(stdout);
      std::vector<std::string> argv = {"qemu-img", "convert", "-f", "raw"};
      argv.insert(argv.end(), format_.qemu_options.begin(), format_.qemu_options.end());
      argv.push_back(disk->file.string());
      argv.push_back(out.string());
      int code = -1;
      auto output = util::capture_output(argv, &code);
      if (!output || code != 0) {
        fs::remove(out);
        return make_error(ExitCode::build_failed,
                          "qemu-img could not convert the disk to " + name() +
                              (output ? ": " + util::trim_copy(*output) : std::string()));
      }
    }
    auto hashing = std::chrono::steady_clock::now();
    auto sha256 = util::sha256_file(out);
    if (!sha256)
      return std::move(sha256).error();
    uint64_t size = fs::file_size(out);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double hash_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - hashing).count();
    std::printf("%s: %s, %s virtual, sha256 %s (%.2f s), written in %.2f s\n", file().c_str(),
                image::human_size(size).c_str(), image::human_size(disk->layout.disk_size).c_str(),
                sha256->c_str(), hash_seconds, seconds);
    std::fflush(stdout);
    return image::OutputFile{name(), file(), *sha256, size, name(), disk->layout.disk_size};
  }

private:
  struct Written {
    fs::path file;
    image::DiskLayout layout;
  };

  // The raw disk: written here for `raw`, else once into the shared folder for every format
  // converted from it. The registry puts `raw` first, and each later format finds the disk the
  // first one wrote by the note it left in the shared folder.
  Expected<Written> raw_disk(const ExportTarget& target) const
  {
    bool raw = format_.qemu_options.empty();
    fs::path note = target.shared / "raw-disk";
    if (!raw) {
      if (auto text = util::read_file(note)) {
        size_t newline = text->find('\n');
        image::DiskLayout layout;
        layout.disk_size = std::stoull(text->substr(0, newline));
        return Written{text->substr(newline + 1), layout};
      }
    }
    fs::path file = raw ? target.dir / file_name() : target.shared / "disk.raw";
    KILN_TRY(util::make_dirs(target.shared));
    RawDiskJob job{target.tree, file, title_, target.image_digest, target.source_date_epoch,
                   root_size_};
    auto disk = write_raw_disk(job);
    if (!disk)
      return std::move(disk).error();
    KILN_TRY(util::write_file_atomic(note, std::to_string(disk->layout.disk_size) + "\n" +
                                               file.string()));
    return Written{file, disk->layout};
  }

  std::string file_name() const { return format_.file; }

  const Format& format_;
  std::string title_;
  uint64_t root_size_ = 0;
};

} // namespace

std::unique_ptr<Exporter> make_disk_exporter(const std::string& format,
                                             const spec::Definition& definition)
{
  const Format* found = format_named(format);
  if (!found)
    return nullptr;
  return std::make_unique<DiskExporter>(*found, definition);
}

} // namespace kiln::bake
