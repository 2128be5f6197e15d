// Loads an image definition from YAML and validates it, collecting every problem at once.
#pragma once

#include "spec/definition.hpp"
#include "spec/diagnostic.hpp"
#include "util/error.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace kiln::spec {

struct LoadResult {
  std::optional<Definition> definition; // set only when there are no diagnostics
  std::vector<Diagnostic> diagnostics;
  bool unreadable = false; // the file could not be read at all (missing, a folder, too large)

  // What a command exits with: 0, 4 for a file it could not read, 3 for an invalid one.
  int exit_code() const
  {
    if (definition)
      return 0;
    return static_cast<int>(unreadable ? ExitCode::input : ExitCode::invalid_definition);
  }
};

// Reads and validates FILE; relative paths inside are checked against FILE's folder.
// The largest definition kiln reads (1 MiB; the example agent's is under 4 KiB).
inline constexpr size_t kMaxDefinitionBytes = 1 << 20;

struct LoadOptions {
  std::filesystem::path catalog; // the user's catalog of base images, or none (config::Settings)
};

// Reads and checks a definition file: a regular file of at most kMaxDefinitionBytes.
LoadResult load_definition(const std::filesystem::path& file, const LoadOptions& options = {});

// Validates YAML text as if it were the file `display_name` in folder `dir` (used by tests).
LoadResult load_definition_text(const std::string& text, const std::string& display_name,
                                const std::filesystem::path& dir, const LoadOptions& options = {});

} // namespace kiln::spec
