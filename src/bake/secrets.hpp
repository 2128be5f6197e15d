// Secrets: resolved on the build host before any step runs, given to the steps that list them
// at /run/secrets/NAME on the sandbox's /run tmpfs (never in a layer), hidden in every log line
// and error, and looked for in every layer and output a build makes.
#pragma once

#include "spec/definition.hpp"
#include "util/error.hpp"
#include "util/redact.hpp"

#include <filesystem>
#include <map>
#include <string>

namespace kiln::bake {

struct Secrets {
  std::map<std::string, std::string> values;
  util::Redactor redactor;
};

// Resolves every declared secret. An error names the secret and its source, never a value.
// With `unresolved`, a secret that cannot be read is recorded there (name -> why) instead of
// failing: for --explain, which builds nothing and needs only what it can know.
Expected<Secrets> resolve_secrets(const spec::Definition& definition,
                                  std::map<std::string, std::string>* unresolved = nullptr);

// HMAC-SHA256 of each secret a step uses, under the cache's own key: a changed value changes the
// step's cache key, while the key reveals nothing of the value.
std::map<std::string, std::string> secret_hmacs(const Secrets& secrets,
                                                const std::string& hmac_key);

// A layer that holds a secret's value must never be stored: it would reach the image and the
// cache. The error names `who` (the step), the secret and the file.
Status check_no_secret_in(const Secrets& secrets, const std::filesystem::path& tree,
                          const std::string& who);

// The logs are redacted as they are written; this proves it before a build says it is done.
Status check_logs(const Secrets& secrets, const std::filesystem::path& logs_dir);

} // namespace kiln::bake
