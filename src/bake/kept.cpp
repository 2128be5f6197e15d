#include "bake/kept.hpp"

#include "bake/cache_layout.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"

#include <cerrno>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace kiln::bake {

namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxKeptFile = 1 << 20;
constexpr size_t kMaxLayers = 1000;

bool looks_like_key(const std::string& text)
{
  if (text.size() != 64)
    return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  }
  return true;
}

} // namespace

fs::path kept_dir(const fs::path& cache_dir, const fs::path& out_dir)
{
  std::error_code ec;
  fs::path absolute = fs::weakly_canonical(fs::absolute(out_dir), ec);
  return cache_dir / "kept" / util::sha256_hex(absolute.string()).substr(0, 16);
}

fs::path kept_machine_disk(const fs::path& cache_dir, const fs::path& out_dir)
{
  return kept_dir(cache_dir, out_dir) / "machine.qcow2";
}

Status keep_changes(const fs::path& cache_dir, const fs::path& out_dir, const fs::path& pending_dir)
{
  fs::path dir = kept_dir(cache_dir, out_dir);
  KILN_TRY(util::remove_tree(dir));
  KILN_TRY(util::make_dirs(dir));
  for (const char* name : {"tree", "work"}) {
    fs::path from = pending_dir / name;
    fs::path to = dir / (std::string(name) == "tree" ? "upper" : "work");
    if (::rename(from.c_str(), to.c_str()) != 0)
      return errno_error("cannot keep", from.string(), errno);
  }
  return util::remove_tree(pending_dir);
}

Status write_kept(const fs::path& out_dir, const KeptTree& kept)
{
  nlohmann::json doc = {{"layers", kept.layers},   {"has_changes", kept.has_changes},
                        {"machine", kept.machine}, {"step", kept.step},
                        {"error", kept.error},     {"cache_dir", kept.cache_dir},
                        {"created", kept.created}};
  return util::write_file_atomic(out_dir / kKeptFile, doc.dump(2) + "\n");
}

Expected<std::optional<KeptTree>> read_kept(const fs::path& out_dir)
{
  fs::path file = out_dir / kKeptFile;
  if (!fs::exists(fs::symlink_status(file)))
    return std::optional<KeptTree>();
  auto text = util::read_file_bounded(file, kMaxKeptFile, "a kept tree's record");
  if (!text)
    return std::move(text).error();
  auto bad = [&](const std::string& why) {
    return make_error(ExitCode::input, file.string() + ": " + why,
                      "build again with --on-error=abort to keep the failed tree");
  };
  try {
    auto doc = nlohmann::json::parse(*text);
    KeptTree kept;
    kept.layers = doc.at("layers").get<std::vector<std::string>>();
    kept.has_changes = doc.at("has_changes").get<bool>();
    kept.machine = doc.value("machine", false);
    kept.step = doc.value("step", "");
    kept.error = doc.value("error", "");
    kept.cache_dir = doc.value("cache_dir", "");
    kept.created = doc.value("created", int64_t{0});
    if ((kept.layers.empty() && !kept.machine) || kept.layers.size() > kMaxLayers)
      return bad("it names " + std::to_string(kept.layers.size()) + " layers");
    for (const auto& key : kept.layers) {
      if (!looks_like_key(key))
        return bad("'" + key.substr(0, 80) + "' is not a layer key");
    }
    return std::optional<KeptTree>(std::move(kept));
  } catch (const nlohmann::json::exception& e) {
    return bad(std::string("not a kept tree's record: ") + e.what());
  }
}

Status discard_kept(const fs::path& cache_dir, const fs::path& out_dir)
{
  std::error_code ec;
  fs::remove(out_dir / kKeptFile, ec);
  return util::remove_tree(kept_dir(cache_dir, out_dir));
}

} // namespace kiln::bake
