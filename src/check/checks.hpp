// Judging one test: the checks that read the tree (file, package, user, group, service), and the
// verdict on a command's run. Pure functions of a root folder and a test, so that they run the
// same inside the sandbox (root "/") and in unit tests (a temporary folder).
#pragma once

#include "spec/definition.hpp"

#include <filesystem>
#include <string>

namespace kiln::check {

struct Outcome {
  bool passed = false;
  std::string expected; // what the test wants, in words
  std::string actual;   // what it found
};

// For every kind but command.
Outcome check_in_tree(const spec::ImageTest& test, const std::filesystem::path& root);

// How a command test's command ended.
struct CommandRun {
  int exit_code = 0;
  bool timed_out = false;
  std::string stdout_text;
  std::string stderr_text;
};

Outcome judge_command(const spec::ImageTest& test, const CommandRun& run);

} // namespace kiln::check
