#include "spec/loader.hpp"

#include "image/out_dir.hpp"
#include "spec/catalog.hpp"
#include "spec/requirements_loader.hpp"
#include "spec/steps_loader.hpp"
#include "spec/tests_loader.hpp"
#include "spec/validator.hpp"
#include "spec/vm_loader.hpp"
#include "util/fs.hpp"
#include "util/semver.hpp"
#include "util/strings.hpp"
#include "util/yaml.hpp"

#include <fcntl.h>
#include <regex>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln::spec {

namespace fs = std::filesystem;

namespace {

void load_name(Validator& v, const Entries& top, Definition& def)
{
  auto it = top.find("name");
  if (it == top.end())
    return;
  auto name = v.string_value(it->second, "name");
  if (!name)
    return;
  if (!valid_image_name(*name)) {
    v.error(Validator::value_position(it->second), "name '" + *name + "' is not a valid image name",
            "use lowercase letters, digits and '-', e.g. linux-build-agent");
    return;
  }
  def.name = *name;
}

void load_version(Validator& v, const Entries& top, Definition& def)
{
  auto it = top.find("version");
  if (it == top.end())
    return;
  auto text = v.string_value(it->second, "version");
  if (!text)
    return;
  auto version = util::parse_version(*text);
  if (!version) {
    v.error(Validator::value_position(it->second), version.error().message, version.error().hint);
    return;
  }
  def.version = *text;
}

void load_bootstrap(Validator& v, const Entry& entry, Bootstrap& boot)
{
  auto fields = v.mapping(entry.value, Validator::value_position(entry), shape("bootstrap"),
                          "base.bootstrap");
  if (!fields)
    return;
  if (auto it = fields->find("suite"); it != fields->end()) {
    auto suite = v.string_value(it->second, "base.bootstrap.suite");
    if (suite && suite->empty())
      v.error(Validator::value_position(it->second), "base.bootstrap.suite is empty",
              "name a Debian suite, e.g. bookworm");
    else if (suite)
      boot.suite = *suite;
  }
  if (auto it = fields->find("variant"); it != fields->end()) {
    auto variant = v.string_value(it->second, "base.bootstrap.variant");
    if (variant && std::find(kBootstrapVariants.begin(), kBootstrapVariants.end(), *variant) ==
                       kBootstrapVariants.end()) {
      std::string suggestion = util::closest_match(*variant, kBootstrapVariants);
      v.error(Validator::value_position(it->second),
              "base.bootstrap.variant '" + *variant + "' is not an mmdebstrap variant",
              (suggestion.empty() ? "" : "did you mean '" + suggestion + "'? ") +
                  "common choices: minbase, essential, apt, important, standard");
    } else if (variant) {
      boot.variant = *variant;
    }
  }
  if (auto it = fields->find("mirror"); it != fields->end()) {
    auto mirror = v.string_value(it->second, "base.bootstrap.mirror");
    static const std::regex url("(https?|file)://[^ ]+");
    if (mirror && !std::regex_match(*mirror, url))
      v.error(Validator::value_position(it->second),
              "base.bootstrap.mirror '" + *mirror + "' is not an http(s):// or file:// URL",
              "write the mirror's URL, e.g. http://mirror.example/debian, or leave it out");
    else if (mirror)
      boot.mirror = *mirror;
  }
  if (auto it = fields->find("components"); it != fields->end()) {
    auto components = v.string_list(it->second, "base.bootstrap.components");
    if (components && components->empty())
      v.error(Validator::value_position(it->second), "base.bootstrap.components is empty",
              "list at least one component, e.g. [main]");
    else if (components)
      boot.components = *components;
  }
  if (auto it = fields->find("packages"); it != fields->end()) {
    if (auto packages = v.string_list(it->second, "base.bootstrap.packages"))
      boot.packages = *packages;
  }
}

// base: catalog:NAME, taken from the catalog of approved images.
void load_catalog_base(Validator& v, const Entry& entry, const std::string& name, Definition& def)
{
  auto entries = catalog(v.catalog());
  if (!entries) {
    v.error(Validator::value_position(entry), entries.error().message, entries.error().hint);
    return;
  }
  std::vector<std::string_view> names;
  for (const auto& e : *entries) {
    names.push_back(e.name);
    if (e.name != name)
      continue;
    def.base.catalog = name;
    def.base.bootstrap = e.bootstrap;
    if (!e.security_baseline.empty() && def.requirements.security.baseline.empty())
      def.requirements.security.baseline = e.security_baseline;
    return;
  }
  std::string suggestion = util::closest_match(name, names);
  v.error(Validator::value_position(entry), "base catalog:" + name + " is not in the catalog",
          (suggestion.empty() ? "" : "did you mean '" + suggestion + "'? ") +
              "kiln catalog ls lists the approved images");
}

// base: image:PATH, another kiln image's output folder.
void load_image_base(Validator& v, const Entry& entry, const std::string& path, Definition& def)
{
  fs::path folder = fs::path(path).is_absolute() ? fs::path(path) : v.dir() / path;
  using namespace image::out;
  if (!fs::exists(at(folder, kManifest)) || !fs::exists(at(folder, kRootfsTar))) {
    v.error(Validator::value_position(entry),
            "base image:" + path + " is not a built kiln image (no " + std::string(kManifest) +
                " and " + std::string(kRootfsTar) + " in " + folder.lexically_normal().string() +
                ")",
            "build the parent first (kiln build PARENT.yaml --out " + path + ")");
    return;
  }
  def.base.image = folder.lexically_normal();
}

void load_base(Validator& v, const Entries& top, Definition& def)
{
  auto it = top.find("base");
  if (it == top.end())
    return;
  if (it->second.value.IsScalar()) {
    std::string text = it->second.value.Scalar();
    if (text.rfind("catalog:", 0) == 0)
      return load_catalog_base(v, it->second, text.substr(8), def);
    if (text.rfind("image:", 0) == 0)
      return load_image_base(v, it->second, text.substr(6), def);
    if (text.rfind("kiln:", 0) == 0) {
      if (std::string problem = check_store_ref(text.substr(5)); !problem.empty())
        return v.error(Validator::value_position(it->second), "base " + text + ": " + problem,
                       "write kiln:NAME@CHANNEL, e.g. kiln:linux-base@prod, or kiln:NAME@^1.2");
      def.base.image_store = StoreBase{text.substr(5), ""};
      return;
    }
    v.error(Validator::value_position(it->second), "base '" + text + "' is not a base",
            "write catalog:NAME, image:PATH, kiln:NAME@CHANNEL, or a bootstrap: mapping");
    return;
  }
  size_t errors_before = v.diagnostics().size();
  auto fields =
      v.mapping(it->second.value, Validator::value_position(it->second), shape("base"), "base");
  if (!fields)
    return;
  bool boot = fields->count("bootstrap") != 0;
  bool disk = fields->count("disk") != 0;
  if (!boot && !disk && v.diagnostics().size() > errors_before)
    return; // a misspelt key was already reported, with the ones that exist
  if (boot == disk) {
    v.error(Validator::value_position(it->second),
            boot ? "base has both bootstrap and disk" : "base needs bootstrap or disk",
            "bootstrap: for a tree made with mmdebstrap, disk: for the VM builder");
    return;
  }
  if (fields->count("sha256") && !disk)
    v.error(position_of(fields->at("sha256").key), "base.sha256 is for a disk base",
            "remove it, or give disk:");
  if (disk)
    return load_disk_base(v, *fields, def);
  load_bootstrap(v, fields->at("bootstrap"), def.base.bootstrap);
}

void load_outputs(Validator& v, const Entries& top, Definition& def)
{
  auto it = top.find("outputs");
  if (it == top.end())
    return;
  auto outputs = v.string_list(it->second, "outputs");
  if (!outputs)
    return;
  if (outputs->empty()) {
    v.error(Validator::value_position(it->second), "outputs is empty",
            "list at least one output, e.g. [rootfs], or leave outputs out");
    return;
  }
  static const std::vector<std::string_view> planned = {"oci"};
  size_t index = 0;
  for (const auto& output : *outputs) {
    Position at = position_of(it->second.value[index++]);
    if (std::find(kSupportedOutputs.begin(), kSupportedOutputs.end(), output) !=
        kSupportedOutputs.end())
      continue;
    if (std::find(planned.begin(), planned.end(), output) != planned.end()) {
      v.error(at, "output '" + output + "' is not available in this version of kiln",
              "supported outputs: rootfs, raw, qcow2, vmdk, vhd");
    } else {
      std::string suggestion = util::closest_match(output, kSupportedOutputs);
      v.error(at, "unknown output '" + output + "'",
              (suggestion.empty() ? "" : "did you mean '" + suggestion + "'? ") +
                  "supported outputs: rootfs, raw, qcow2, vmdk, vhd");
    }
  }
  def.outputs = *outputs;
}

void load_secret(Validator& v, const std::string& name, const Entry& entry, Definition& def)
{
  std::string where = "secret '" + name + "'";
  static const std::regex pattern("[a-z_][a-z0-9_]{0,62}");
  if (!std::regex_match(name, pattern)) {
    v.error(position_of(entry.key), "secret name '" + name + "' is not valid",
            "use lowercase letters, digits and '_' (it names /run/secrets/NAME)");
    return;
  }
  size_t errors_before = v.diagnostics().size();
  auto fields = v.mapping(entry.value, Validator::value_position(entry), shape("secret"), where);
  if (!fields || (fields->empty() && v.diagnostics().size() > errors_before))
    return; // a misspelt source was already reported, with the ones that exist
  if (fields->size() != 1) {
    v.error(Validator::value_position(entry), where + " needs exactly one of env, file, command",
            "e.g. " + name + ": {env: " + util::upper(name) + "}");
    return;
  }
  const auto& [kind, source] = *fields->begin();
  auto from = v.string_value(source, where + " " + kind);
  if (!from)
    return;
  if (from->empty()) {
    v.error(Validator::value_position(source), where + " " + kind + " is empty",
            "name the variable, the file or the command that gives the value");
    return;
  }
  SecretSource secret;
  secret.kind = kind == "env"    ? SecretSource::Kind::env
                : kind == "file" ? SecretSource::Kind::file
                                 : SecretSource::Kind::command;
  secret.from = *from;
  secret.position = Validator::value_position(source);
  def.secrets[name] = secret;
}

void load_secrets(Validator& v, const Entries& top, Definition& def)
{
  auto it = top.find("secrets");
  if (it == top.end())
    return;
  if (!it->second.value.IsMap()) {
    v.error(Validator::value_position(it->second), "secrets must be a mapping of names to sources",
            "e.g. secrets: {artifactory_token: {env: ARTIFACTORY_TOKEN}}");
    return;
  }
  for (const auto& pair : it->second.value)
    load_secret(v, pair.first.Scalar(), Entry{pair.first, pair.second}, def);
}

// Tests that need a booted machine need a disk to boot.
void check_boot_tests(Validator& v, const Entries& top, const Definition& def)
{
  if (wants_disk(def))
    return;
  auto tests = top.find("tests");
  if (def.boot_test)
    v.error(position_of(tests->second.key), "tests ask for a boot test, but no output is a disk",
            "add raw or qcow2 to outputs:, e.g. outputs: [rootfs, qcow2]");
  for (const auto& test : def.tests) {
    if (needs_running_system(test))
      v.error(test.position,
              "test '" + test.name + "' needs a booted machine, but no output is a disk",
              "add raw or qcow2 to outputs: and '- boot: true' to tests:");
  }
}

LoadResult validate(const YAML::Node& root, Validator& v, Definition def)
{
  LoadResult result;
  if (auto top = v.mapping(root, {1, 1}, shape("definition"), "the definition")) {
    load_name(v, *top, def);
    load_version(v, *top, def);
    load_secrets(v, *top, def);
    if (auto requirements = top->find("requirements"); requirements != top->end())
      def.requirements = load_requirements(v, requirements->second);
    if (auto tests = top->find("tests"); tests != top->end())
      def.tests = load_tests(v, tests->second, "tests", &def.boot_test);
    if (auto report = top->find("report"); report != top->end())
      def.report = load_report(v, report->second);
    load_base(v, *top, def); // after requirements: a catalog entry may add a baseline
    std::vector<std::string> secret_names;
    for (const auto& [name, source] : def.secrets)
      secret_names.push_back(name);
    if (auto steps = top->find("steps"); steps != top->end())
      def.steps = load_steps(v, steps->second, secret_names);
    load_outputs(v, *top, def);
    load_builder(v, *top, def); // after the base and the steps it checks
    check_boot_tests(v, *top, def);
  }
  result.diagnostics = std::move(v.diagnostics());
  if (result.diagnostics.empty())
    result.definition = std::move(def);
  return result;
}

} // namespace

LoadResult load_definition_text(const std::string& text, const std::string& display_name,
                                const fs::path& dir, const LoadOptions& options)
{
  Validator v(display_name, dir, options.catalog);
  Definition def;
  def.file = dir / fs::path(display_name).filename();
  def.dir = dir;
  auto parsed = util::parse_yaml(text);
  if (const auto* problem = std::get_if<util::YamlProblem>(&parsed)) {
    v.error({problem->line, problem->column}, problem->message, problem->hint);
    return LoadResult{std::nullopt, std::move(v.diagnostics())};
  }
  YAML::Node root = std::get<YAML::Node>(std::move(parsed));
  if (root.IsNull()) {
    v.error({1, 1}, "the definition is empty", "start from examples/linux-agent/image.yaml");
    return LoadResult{std::nullopt, std::move(v.diagnostics())};
  }
  return validate(root, v, std::move(def));
}

LoadResult load_definition(const fs::path& file, const LoadOptions& options)
{
  // A definition is a regular file of at most kMaxDefinitionBytes: /dev/zero, a FIFO or a huge
  // file must not make kiln read forever or hold gigabytes.
  auto text = util::read_file_bounded(file, kMaxDefinitionBytes, "a definition");
  if (!text) {
    std::string hint =
        text.error().hint.empty() ? "check the path of the definition file" : text.error().hint;
    return LoadResult{
        std::nullopt, {Diagnostic{file.string(), {}, text.error().message, hint}}, true};
  }
  std::error_code ec;
  fs::path absolute = fs::absolute(file, ec);
  auto result = load_definition_text(*text, file.string(), absolute.parent_path(), options);
  if (result.definition)
    result.definition->file = absolute;
  return result;
}

} // namespace kiln::spec
