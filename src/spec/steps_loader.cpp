// Loading and checking the `steps:` list of a definition.
#include "spec/steps_loader.hpp"

#include "spec/ansible_loader.hpp"
#include "spec/tests_loader.hpp"
#include "util/strings.hpp"

#include <regex>
#include <set>

namespace kiln::spec {

namespace {

std::string step_label(int number, const std::string& kind = {})
{
  return "step " + std::to_string(number) + (kind.empty() ? "" : " (" + kind + ")");
}

std::optional<PackagesStep> load_packages(Validator& v, const Entry& entry,
                                          const std::string& where)
{
  auto packages = v.string_list(entry, where + " packages");
  if (!packages)
    return std::nullopt;
  if (packages->empty()) {
    v.error(Validator::value_position(entry), where + " has an empty package list",
            "list at least one package, or remove the step");
    return std::nullopt;
  }
  static const std::regex pattern("[a-z0-9][a-z0-9+.-]+(:[a-z0-9-]+)?(=[A-Za-z0-9.+~:-]+)?");
  bool ok = true;
  size_t index = 0;
  for (const auto& package : *packages) {
    Position at = position_of(entry.value[index++]);
    if (!std::regex_match(package, pattern)) {
      v.error(at, "'" + package + "' is not a Debian package name",
              "write name or name=version, e.g. git or curl=7.88.1-10+deb12u5");
      ok = false;
    }
  }
  if (!ok)
    return std::nullopt;
  return PackagesStep{*packages};
}

std::optional<ShellStep> load_shell(Validator& v, const Entry& entry, const std::string& where)
{
  ShellStep shell;
  if (entry.value.IsScalar()) {
    shell.run = entry.value.Scalar();
  } else {
    auto fields = v.mapping(entry.value, Validator::value_position(entry), shape("shell"), where);
    if (!fields)
      return std::nullopt;
    auto run = fields->find("run");
    auto script = fields->find("script");
    if ((run == fields->end()) == (script == fields->end())) {
      v.error(Validator::value_position(entry), where + " needs exactly one of 'run' and 'script'",
              "use run: for an inline script or script: for a file next to the definition");
      return std::nullopt;
    }
    if (run != fields->end()) {
      auto text = v.string_value(run->second, where + " run");
      if (!text)
        return std::nullopt;
      shell.run = *text;
    } else {
      auto path = v.string_value(script->second, where + " script");
      if (!path || !v.check_relative_input(script->second, *path, where + " script"))
        return std::nullopt;
      shell.script = *path;
    }
  }
  if (shell.script.empty() && util::trim(shell.run).empty()) {
    v.error(Validator::value_position(entry), where + " has an empty script",
            "write the commands to run, or remove the step");
    return std::nullopt;
  }
  return shell;
}

std::optional<FileStep> load_file(Validator& v, const Entry& entry, const std::string& where)
{
  auto fields = v.mapping(entry.value, Validator::value_position(entry), shape("file"), where);
  if (!fields)
    return std::nullopt;
  FileStep file;
  bool ok = fields->count("src") && fields->count("dest");
  if (auto it = fields->find("src"); it != fields->end()) {
    auto src = v.string_value(it->second, where + " src");
    ok = src && v.check_relative_input(it->second, *src, where + " src") && ok;
    file.src = src.value_or("");
  }
  if (auto it = fields->find("dest"); it != fields->end()) {
    auto dest = v.string_value(it->second, where + " dest");
    ok = dest && v.check_image_path(it->second, *dest, where + " dest") && ok;
    file.dest = dest.value_or("");
  }
  if (auto it = fields->find("mode"); it != fields->end()) {
    file.mode = v.mode_value(it->second, where + " mode");
    ok = file.mode.has_value() && ok;
  }
  if (auto it = fields->find("owner"); it != fields->end()) {
    auto owner = v.string_value(it->second, where + " owner");
    static const std::regex pattern(
        "[a-z_][a-z0-9_-]*[$]?(:[a-z_][a-z0-9_-]*[$]?)?|[0-9]+(:[0-9]+)?");
    if (owner && !std::regex_match(*owner, pattern)) {
      v.error(Validator::value_position(it->second),
              where + " owner '" + *owner + "' is not user or user:group",
              "write e.g. azdo, azdo:azdo or 1000:1000");
      ok = false;
    }
    file.owner = owner.value_or("");
  }
  if (!ok)
    return std::nullopt;
  return file;
}

bool check_artifact_url(Validator& v, const Entry& entry, const std::string& url,
                        const std::string& where)
{
  static const std::regex web("https?://[^/\\s]+(/\\S*)?");
  if (std::regex_match(url, web))
    return true;
  static const std::regex s3("s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/\\S+");
  if (url.rfind("s3://", 0) == 0) {
    if (std::regex_match(url, s3))
      return true;
    v.error(Validator::value_position(entry), where + " url '" + url + "' is not an S3 object",
            "write s3://BUCKET/KEY; kiln fetches it with the AWS credentials of the build");
    return false;
  }
  if (url.rfind("file://", 0) == 0) {
    if (url.size() > 7 && url[7] == '/')
      return true;
    v.error(Validator::value_position(entry), where + " url '" + url + "' is not a file URL",
            "write file:///absolute/path, or file:relative/path for a file next to the definition");
    return false;
  }
  if (url.rfind("file:", 0) == 0)
    return v.check_relative_input(entry, url.substr(5), where + " url");
  v.error(Validator::value_position(entry),
          where + " url '" + url + "' uses a scheme kiln cannot fetch",
          "use https://, http://, s3:// or file: (the sha256 check guards the content either way)");
  return false;
}

std::optional<ArtifactStep> load_artifact(Validator& v, const Entry& entry,
                                          const std::string& where)
{
  auto fields = v.mapping(entry.value, Validator::value_position(entry), shape("artifact"), where);
  if (!fields)
    return std::nullopt;
  ArtifactStep artifact;
  bool ok = fields->count("url") && fields->count("sha256");
  if (auto it = fields->find("url"); it != fields->end()) {
    auto url = v.string_value(it->second, where + " url");
    ok = url && check_artifact_url(v, it->second, *url, where) && ok;
    artifact.url = url.value_or("");
  }
  if (auto it = fields->find("sha256"); it != fields->end()) {
    auto sha = v.string_value(it->second, where + " sha256");
    if (sha && (sha->size() != 64 || !util::is_lower_hex(*sha))) {
      v.error(Validator::value_position(it->second),
              where + " sha256 '" + *sha + "' is not 64 lowercase hex digits",
              "compute it with: sha256sum FILE");
      ok = false;
    }
    artifact.sha256 = sha.value_or("");
  }
  auto dest = fields->find("dest");
  auto extract = fields->find("extract_to");
  if ((dest == fields->end()) == (extract == fields->end())) {
    v.error(Validator::value_position(entry),
            where + " needs exactly one of 'dest' and 'extract_to'",
            "dest: installs the file itself; extract_to: unpacks a tar.gz, tar.xz or zip");
    return std::nullopt;
  }
  const Entry& target = dest != fields->end() ? dest->second : extract->second;
  auto path = v.string_value(target, where + (dest != fields->end() ? " dest" : " extract_to"));
  ok = path && v.check_image_path(target, *path, where + " " + target.key.Scalar()) && ok;
  (dest != fields->end() ? artifact.dest : artifact.extract_to) = path.value_or("");
  if (auto it = fields->find("mode"); it != fields->end()) {
    if (extract != fields->end()) {
      v.error(position_of(it->second.key), where + " mode applies only with dest",
              "remove mode: extracted files keep the modes stored in the archive");
      ok = false;
    }
    artifact.mode = v.mode_value(it->second, where + " mode");
    ok = artifact.mode.has_value() && ok;
  }
  if (auto it = fields->find("strip_components"); it != fields->end()) {
    auto strip = v.integer_value(it->second, where + " strip_components");
    ok = strip.has_value() && ok;
    artifact.strip_components = strip.value_or(0);
  }
  if (!ok)
    return std::nullopt;
  return artifact;
}

std::optional<StepBody> load_body(Validator& v, const std::string& kind, const Entry& entry,
                                  const std::string& where)
{
  if (kind == "packages") {
    if (auto step = load_packages(v, entry, where))
      return StepBody{*step};
  } else if (kind == "shell") {
    if (auto step = load_shell(v, entry, where))
      return StepBody{*step};
  } else if (kind == "file") {
    if (auto step = load_file(v, entry, where))
      return StepBody{*step};
  } else if (kind == "ansible") {
    if (auto step = load_ansible(v, entry, where))
      return StepBody{*step};
  } else if (auto step = load_artifact(v, entry, where)) {
    return StepBody{*step};
  }
  return std::nullopt;
}

bool load_step_secrets(Validator& v, const Entries& fields,
                       const std::vector<std::string>& declared, Step& step, int number)
{
  bool ok = true;
  if (auto it = fields.find("secrets"); it != fields.end()) {
    auto names = v.string_list(it->second, step_label(number) + " secrets");
    if (!names)
      return false;
    std::vector<std::string_view> known(declared.begin(), declared.end());
    size_t index = 0;
    for (const auto& name : *names) {
      Position at = position_of(it->second.value[index++]);
      if (std::find(declared.begin(), declared.end(), name) == declared.end()) {
        std::string suggestion = util::closest_match(name, known);
        v.error(at, step_label(number) + " uses secret '" + name + "', which is not declared",
                suggestion.empty() ? "declare it under secrets: at the top of the definition"
                                   : "did you mean '" + suggestion + "'?");
        ok = false;
      }
    }
    step.secrets = *names;
  }
  if (auto it = fields.find("secret_env"); it != fields.end()) {
    auto flag = v.bool_value(it->second, step_label(number) + " secret_env");
    ok = flag.has_value() && ok;
    step.secret_env = flag.value_or(false);
  }
  if (auto it = fields.find("network"); it != fields.end()) {
    auto network = v.string_value(it->second, step_label(number) + " network");
    if (network && *network != "none" && *network != "outbound") {
      v.error(Validator::value_position(it->second),
              step_label(number) + " network '" + *network + "' is not known",
              "write network: none (loopback only) or leave it out (outbound access)");
      network.reset();
    }
    ok = network.has_value() && ok;
    step.offline = network.value_or("") == "none";
  }
  if (auto it = fields.find("reboot"); it != fields.end()) {
    auto flag = v.bool_value(it->second, step_label(number) + " reboot");
    ok = flag.has_value() && ok;
    step.reboot = flag.value_or(false);
  }
  return ok;
}

std::optional<Step> load_step(Validator& v, const YAML::Node& node, int number,
                              const std::vector<std::string>& secrets)
{
  if (node.IsNull() || (node.IsMap() && node.size() == 0)) {
    v.error(position_of(node), step_label(number) + " is empty",
            "give it one of: packages, shell, file, artifact, ansible");
    return std::nullopt;
  }
  size_t errors_before = v.diagnostics().size();
  auto fields = v.mapping(node, position_of(node), shape("step"), step_label(number));
  if (!fields)
    return std::nullopt;
  bool had_unknown_keys = v.diagnostics().size() > errors_before;
  std::vector<std::string> kinds;
  for (auto kind : step_kinds()) {
    if (fields->count(std::string(kind)))
      kinds.emplace_back(kind);
  }
  if (kinds.empty() && had_unknown_keys)
    return std::nullopt; // the misspelt kind was already reported, with a suggestion
  if (kinds.size() != 1) {
    v.error(position_of(node),
            kinds.empty()
                ? step_label(number) + " has no kind"
                : step_label(number) + " has more than one kind (" + util::join(kinds, ", ") + ")",
            kinds.empty() ? "give it one of: packages, shell, file, artifact, ansible"
                          : "split it into one step per kind");
    return std::nullopt;
  }
  Step step;
  step.position = position_of(node);
  step.name = kinds[0] + "-" + std::to_string(number);
  if (auto it = fields->find("name"); it != fields->end()) {
    auto name = v.string_value(it->second, step_label(number) + " name");
    static const std::regex pattern("[a-z0-9][a-z0-9._-]{0,62}");
    if (name && !std::regex_match(*name, pattern)) {
      v.error(Validator::value_position(it->second), "step name '" + *name + "' is not valid",
              "use lowercase letters, digits, '.', '_' and '-' (it names the step's log file)");
      return std::nullopt;
    }
    if (!name)
      return std::nullopt;
    step.name = *name;
  }
  bool secrets_ok = load_step_secrets(v, *fields, secrets, step, number);
  if (auto it = fields->find("tests"); it != fields->end()) {
    size_t errors = v.diagnostics().size();
    step.tests = load_tests(v, it->second, step_label(number) + " tests");
    secrets_ok = secrets_ok && v.diagnostics().size() == errors;
  }
  auto body = load_body(v, kinds[0], fields->at(kinds[0]), step_label(number, kinds[0]));
  if (!body || !secrets_ok)
    return std::nullopt;
  step.body = std::move(*body);
  return step;
}

} // namespace

std::vector<Step> load_steps(Validator& v, const Entry& steps_entry,
                             const std::vector<std::string>& secrets)
{
  std::vector<Step> steps;
  if (!steps_entry.value.IsSequence()) {
    v.error(Validator::value_position(steps_entry),
            "steps must be a list, not " +
                std::string(steps_entry.value.IsNull() ? "empty" : "a single value or mapping"),
            "write each step as a '- ' item");
    return steps;
  }
  if (steps_entry.value.size() == 0) {
    v.error(Validator::value_position(steps_entry), "the definition has no steps",
            "add at least one step: packages, shell, file, artifact or ansible");
    return steps;
  }
  std::map<std::string, Position> seen;
  int number = 0;
  for (const auto& node : steps_entry.value) {
    auto step = load_step(v, node, ++number, secrets);
    if (!step)
      continue;
    if (auto [it, inserted] = seen.emplace(step->name, step->position); !inserted) {
      v.error(step->position,
              "step name '" + step->name + "' is used twice (first at line " +
                  std::to_string(it->second.line) + ")",
              "give each step its own name");
      continue;
    }
    steps.push_back(std::move(*step));
  }
  return steps;
}

} // namespace kiln::spec
