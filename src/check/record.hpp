// What a bake records of its tests in OUT/tests: the tests themselves (tests.json, so that
// `kiln test OUT` can run them again without the definition), their results (results.json) and
// junit.xml in the JUnit format Azure Pipelines' PublishTestResults task reads.
#pragma once

#include "check/runner.hpp"
#include "spec/definition.hpp"
#include "util/error.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace kiln::check {

struct PlannedTest {
  std::string step; // "" for the definition's own tests
  spec::ImageTest test;
};
using TestPlan = std::vector<PlannedTest>;

// Every step's tests in step order, then the definition's.
TestPlan plan_of(const spec::Definition& definition);

nlohmann::json plan_to_json(const TestPlan& plan);
Expected<TestPlan> plan_from_json(const nlohmann::json& json);

// `suite` names the image, e.g. "linux-agent 1.1.0".
std::string junit_xml(const std::string& suite, const std::vector<TestResult>& results);
nlohmann::json results_to_json(const std::vector<TestResult>& results);
Expected<std::vector<TestResult>> results_from_json(const nlohmann::json& json);

// Writes tests.json, results.json and junit.xml into `dir` (OUT/tests at bake time).
Status write_test_outputs(const std::filesystem::path& dir, const std::string& suite,
                          const TestPlan& plan, const std::vector<TestResult>& results);

} // namespace kiln::check
