#include "bake/secrets.hpp"

#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/process.hpp"

#include <cstdlib>

namespace kiln::bake {

namespace {

std::string place(const spec::Definition& definition, const spec::SecretSource& source)
{
  return definition.file.filename().string() + ":" + std::to_string(source.position.line) + ":" +
         std::to_string(source.position.column);
}

// One trailing newline is how files and commands end a value, not part of it.
std::string chomp(std::string value)
{
  if (!value.empty() && value.back() == '\n')
    value.pop_back();
  if (!value.empty() && value.back() == '\r')
    value.pop_back();
  return value;
}

struct Collect : util::ProcessObserver {
  std::string text;
  void on_line(std::string_view line) override
  {
    text += line;
    text += '\n';
  }
};

Expected<std::string> from_command(const std::string& command)
{
  Collect out;
  util::ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", command};
  spec.discard_stderr = true;
  spec.timeout_seconds = 120;
  auto result = util::run_process(spec, &out);
  if (!result)
    return std::move(result).error();
  if (!result->success())
    return make_error(ExitCode::input, "the command ended with " + result->describe());
  return chomp(out.text);
}

Expected<std::string> resolve(const spec::Definition& definition, const spec::SecretSource& source)
{
  switch (source.kind) {
  case spec::SecretSource::Kind::env: {
    const char* value = std::getenv(source.from.c_str());
    if (!value)
      return make_error(ExitCode::input, "environment variable " + source.from + " is not set");
    return std::string(value);
  }
  case spec::SecretSource::Kind::file: {
    std::filesystem::path path = source.from;
    if (path.is_relative())
      path = definition.dir / path;
    auto text = util::read_file(path);
    if (!text)
      return std::move(text).error();
    return chomp(*text);
  }
  case spec::SecretSource::Kind::command:
    return from_command(source.from);
  }
  return make_error(ExitCode::input, "unknown source");
}

} // namespace

Expected<Secrets> resolve_secrets(const spec::Definition& definition,
                                  std::map<std::string, std::string>* unresolved)
{
  Secrets secrets;
  for (const auto& [name, source] : definition.secrets) {
    auto value = resolve(definition, source);
    if (value && value->empty())
      value = make_error(ExitCode::input, "its value is empty");
    if (!value && unresolved) {
      (*unresolved)[name] = place(definition, source) + ": " + value.error().message;
      continue;
    }
    if (!value) {
      return make_error(ExitCode::input,
                        "secret '" + name + "' (" + place(definition, source) +
                            ") cannot be resolved: " + value.error().message,
                        "make its source available on this machine before running kiln");
    }
    secrets.values[name] = *value;
    secrets.redactor.add(name, *value);
  }
  return secrets;
}

std::map<std::string, std::string> secret_hmacs(const Secrets& secrets, const std::string& hmac_key)
{
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : secrets.values)
    out[name] = util::hmac_sha256_hex(hmac_key, value);
  return out;
}

Status check_no_secret_in(const Secrets& secrets, const std::filesystem::path& tree,
                          const std::string& who)
{
  auto found = secrets.redactor.find_in_tree(tree);
  if (!found)
    return std::move(found).error();
  if (!*found)
    return ok_status();
  return make_error(ExitCode::build_failed,
                    who + " left secret '" + (*found)->second + "' in the image: /" +
                        (*found)->first,
                    "read secrets from /run/secrets/NAME and write nothing derived from them "
                    "outside /tmp or /run, which are not part of the image");
}

Status check_logs(const Secrets& secrets, const std::filesystem::path& logs_dir)
{
  if (secrets.redactor.empty())
    return ok_status();
  // A log that holds a value (in a form redaction missed) does not stay in OUT: its text is
  // replaced by a note, and the build fails naming it.
  std::optional<Error> leak;
  for (int scrubbed = 0; scrubbed < 1000; ++scrubbed) {
    auto found = secrets.redactor.find_in_tree(logs_dir);
    if (!found)
      return std::move(found).error();
    if (!*found)
      break;
    auto [log, name] = **found;
    if (!leak)
      leak = make_error(ExitCode::build_failed,
                        "secret '" + name + "' reached the log " + log + ", which was emptied");
    if (!util::write_file_atomic(logs_dir / log, "kiln: this log held the value of secret '" +
                                                     name + "' and was removed\n"))
      break;
  }
  if (leak)
    return std::move(*leak);
  return ok_status();
}

} // namespace kiln::bake
