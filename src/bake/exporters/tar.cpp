#include "bake/exporters/tar.hpp"

#include "image/out_dir.hpp"
#include "image/tar_export.hpp"

#include <clocale>
#include <cstdio>

namespace kiln::bake {

namespace {

class TarExporter : public Exporter {
public:
  std::string name() const override { return "rootfs"; }
  std::string file() const override { return std::string(image::out::kRootfsTar); }
  // v2: one zstd frame per content-defined chunk (util/framed_zstd.hpp).
  std::string key_part() const override { return "v2"; }

  Expected<image::OutputFile> write(const ExportTarget& target) const override
  {
    auto progress = [](uint64_t entries, uint64_t bytes) {
      std::printf("exported %llu files, %llu MiB\n", static_cast<unsigned long long>(entries),
                  static_cast<unsigned long long>(bytes >> 20));
      std::fflush(stdout);
    };
    // libarchive writes names as UTF-8 from the locale's character set: the same locale on
    // every machine (glibc always has C.UTF-8) gives the same bytes, whatever the user's is.
    std::setlocale(LC_CTYPE, "C.UTF-8");
    auto tar = image::write_rootfs_tar(target.tree, target.dir / file(), target.source_date_epoch,
                                       progress, target.secrets);
    if (!tar)
      return std::move(tar).error();
    std::printf("%s: %llu entries, %llu bytes, sha256 %s\n", file().c_str(),
                static_cast<unsigned long long>(tar->entries),
                static_cast<unsigned long long>(tar->size), tar->sha256.c_str());
    return image::OutputFile{name(), file(), tar->sha256, tar->size, "", 0};
  }
};

} // namespace

std::unique_ptr<Exporter> make_tar_exporter()
{
  return std::make_unique<TarExporter>();
}

} // namespace kiln::bake
