#include "spec/vm_loader.hpp"

#include "image/out_dir.hpp"

#include <regex>

namespace kiln::spec {

namespace fs = std::filesystem;

namespace {

bool is_sha256(const std::string& text)
{
  static const std::regex pattern("[0-9a-f]{64}");
  return std::regex_match(text, pattern);
}

// The VM builder runs steps over SSH: what only a sandbox can give is refused by name.
void check_vm_steps(Validator& v, const Definition& def)
{
  for (const auto& step : def.steps) {
    if (step.offline)
      v.error(step.position,
              "step '" + step.name +
                  "' asks for network: none, which builder: vm "
                  "cannot give (the machine has one network)",
              "leave network: out, or bake this step with the tree builder");
  }
  if (!def.requirements.empty())
    v.error({1, 1}, "requirements: is not supported with builder: vm yet",
            "create users, groups and settings in a step (shell or ansible), or use the tree "
            "builder");
}

} // namespace

void load_disk_base(Validator& v, const Entries& base, Definition& def)
{
  auto it = base.find("disk");
  auto path = v.string_value(it->second, "base.disk");
  if (!path)
    return;
  DiskBase disk;
  if (auto sum = base.find("sha256"); sum != base.end()) {
    auto text = v.string_value(sum->second, "base.sha256");
    if (!text)
      return;
    if (!is_sha256(*text)) {
      v.error(Validator::value_position(sum->second), "base.sha256 is not a sha256",
              "64 lowercase hex digits, as sha256sum prints them");
      return;
    }
    disk.sha256 = *text;
  }
  if (path->rfind("kiln:", 0) == 0) {
    if (std::string problem = check_store_ref(path->substr(5)); !problem.empty()) {
      v.error(Validator::value_position(it->second), "base.disk " + *path + ": " + problem,
              "write disk: kiln:NAME@CHANNEL, e.g. kiln:linux-agent@prod");
      return;
    }
    disk.store = StoreBase{path->substr(5), ""};
    def.base.disk = std::move(disk);
    return;
  }
  fs::path where = fs::path(*path).is_absolute() ? fs::path(*path) : v.dir() / *path;
  disk.path = where.lexically_normal();
  std::error_code ec;
  auto status = fs::status(disk.path, ec);
  if (fs::is_directory(status)) {
    if (!fs::exists(image::out::at(disk.path, image::out::kManifest))) {
      v.error(Validator::value_position(it->second),
              "base disk " + *path + " is a folder but not a built kiln image (no " +
                  std::string(image::out::kManifest) + ")",
              "build an image with a raw or qcow2 output into it first");
      return;
    }
  } else if (fs::is_regular_file(status)) {
    if (disk.sha256.empty()) {
      v.error(Validator::value_position(it->second),
              "base disk " + *path + " is a file: its sha256 must be given",
              "add sha256: to base (sha256sum " + *path + ")");
      return;
    }
  } else {
    v.error(Validator::value_position(it->second),
            "base disk " + *path + " is not a kiln image folder or a disk image file",
            "a folder kiln build wrote with a raw or qcow2 output, or a .raw/.qcow2 file");
    return;
  }
  def.base.disk = std::move(disk);
}

void load_builder(Validator& v, const Entries& top, Definition& def)
{
  Position at{1, 1};
  if (auto it = top.find("builder"); it != top.end()) {
    at = Validator::value_position(it->second);
    auto name = v.string_value(it->second, "builder");
    if (!name)
      return;
    if (*name == "vm") {
      def.builder = Builder::vm;
    } else if (*name != "tree") {
      v.error(at, "builder '" + *name + "' is not known",
              "write builder: tree (the default) or builder: vm");
      return;
    }
  }
  bool has_disk = def.base.disk.has_value();
  auto base = top.find("base");
  const YAML::Node base_node = base == top.end() ? YAML::Node() : base->second.value;
  bool names_disk = base_node.IsMap() && base_node["disk"].IsDefined(); // reported if wrong
  if (def.builder == Builder::vm && !names_disk && base != top.end()) {
    v.error(at, "builder: vm needs a disk to boot",
            "write base: {disk: FOLDER} (a kiln image with a raw or qcow2 output) or base: "
            "{disk: FILE, sha256: HEX}");
  }
  if (def.builder == Builder::tree && has_disk)
    v.error(Validator::value_position(top.at("base")),
            "a disk base is booted by the VM builder, which the definition does not ask for",
            "add builder: vm");
  if (def.builder == Builder::vm)
    return check_vm_steps(v, def);
  for (const auto& step : def.steps) {
    if (step.reboot)
      v.error(step.position,
              "step '" + step.name +
                  "' asks for reboot: true, which only builder: "
                  "vm can do",
              "add builder: vm with a disk base, or remove reboot:");
  }
}

} // namespace kiln::spec
