#include "check/record.hpp"

#include "image/out_dir.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <cstdio>

namespace kiln::check {

using nlohmann::json;

namespace {

json test_to_json(const spec::ImageTest& t)
{
  return {{"name", t.name},
          {"kind", t.kind},
          {"subject", t.subject},
          {"exit_code", t.exit_code},
          {"stdout", t.stdout_regex},
          {"stderr", t.stderr_regex},
          {"timeout", t.timeout},
          {"as", t.user},
          {"exists", t.exists},
          {"type", t.type},
          {"mode", t.mode ? json(*t.mode) : json(nullptr)},
          {"owner", t.owner},
          {"contains", t.content_regex},
          {"version", t.version},
          {"shell", t.shell},
          {"groups", t.groups},
          {"active", t.active}};
}

spec::ImageTest test_from_json(const json& j)
{
  spec::ImageTest t;
  t.name = j.at("name");
  t.kind = j.at("kind");
  t.subject = j.at("subject");
  t.exit_code = j.value("exit_code", 0);
  t.stdout_regex = j.value("stdout", "");
  t.stderr_regex = j.value("stderr", "");
  t.timeout = j.value("timeout", 60.0);
  t.user = j.value("as", "");
  t.exists = j.value("exists", true);
  t.type = j.value("type", "");
  if (j.contains("mode") && !j["mode"].is_null())
    t.mode = j["mode"].get<mode_t>();
  t.owner = j.value("owner", "");
  t.content_regex = j.value("contains", "");
  t.version = j.value("version", "");
  t.shell = j.value("shell", "");
  t.groups = j.value("groups", std::vector<std::string>{});
  t.active = j.value("active", false);
  return t;
}

std::string seconds(double value)
{
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", value);
  return text;
}

} // namespace

TestPlan plan_of(const spec::Definition& definition)
{
  TestPlan plan;
  for (const auto& step : definition.steps) {
    for (const auto& test : step.tests)
      plan.push_back({step.name, test});
  }
  for (const auto& test : definition.tests)
    plan.push_back({"", test});
  return plan;
}

json plan_to_json(const TestPlan& plan)
{
  json tests = json::array();
  for (const auto& planned : plan) {
    json entry = test_to_json(planned.test);
    entry["step"] = planned.step;
    tests.push_back(entry);
  }
  return {{"format", 1}, {"tests", tests}};
}

Expected<TestPlan> plan_from_json(const json& j)
{
  TestPlan plan;
  try {
    for (const auto& entry : j.at("tests"))
      plan.push_back({entry.value("step", ""), test_from_json(entry)});
  } catch (const json::exception& e) {
    return make_error(ExitCode::input, std::string("the recorded tests are damaged: ") + e.what());
  }
  return plan;
}

std::string junit_xml(const std::string& suite, const std::vector<TestResult>& results)
{
  int failures = 0;
  double total = 0;
  for (const auto& r : results) {
    failures += r.passed ? 0 : 1;
    total += r.seconds;
  }
  std::string counts = " tests=\"" + std::to_string(results.size()) + "\" failures=\"" +
                       std::to_string(failures) + "\" errors=\"0\" time=\"" + seconds(total) + "\"";
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"kiln\"" +
                    counts + ">\n  <testsuite name=\"" + util::escape_markup(suite) + "\"" +
                    counts + " skipped=\"0\">\n";
  for (const auto& r : results) {
    std::string classname =
        suite.substr(0, suite.find(' ')) + "." + (r.step.empty() ? "image" : r.step);
    xml += "    <testcase name=\"" + util::escape_markup(r.name) + "\" classname=\"" +
           util::escape_markup(classname) + "\" time=\"" + seconds(r.seconds) + "\"";
    if (r.passed) {
      xml += "/>\n";
      continue;
    }
    std::string message = "expected " + r.expected + ", got " + r.actual;
    xml += ">\n      <failure type=\"" + util::escape_markup(r.kind) + "\" message=\"" +
           util::escape_markup(message) + "\">" +
           util::escape_markup("expected: " + r.expected + "\nactual: " + r.actual) +
           "</failure>\n    </testcase>\n";
  }
  return xml + "  </testsuite>\n</testsuites>\n";
}

json results_to_json(const std::vector<TestResult>& results)
{
  json list = json::array();
  int failed = 0;
  for (const auto& r : results) {
    failed += r.passed ? 0 : 1;
    list.push_back({{"name", r.name},
                    {"kind", r.kind},
                    {"step", r.step.empty() ? json(nullptr) : json(r.step)},
                    {"passed", r.passed},
                    {"expected", r.expected},
                    {"actual", r.actual},
                    {"seconds", r.seconds}});
  }
  return {{"total", results.size()}, {"failed", failed}, {"tests", list}};
}

Expected<std::vector<TestResult>> results_from_json(const json& j)
{
  std::vector<TestResult> results;
  try {
    for (const auto& r : j.at("tests")) {
      results.push_back({r.at("name"), r.at("kind"),
                         r.at("step").is_null() ? "" : r.at("step").get<std::string>(),
                         r.at("passed"), r.at("expected"), r.at("actual"), r.at("seconds")});
    }
  } catch (const json::exception& e) {
    return make_error(ExitCode::input, std::string("the test results are damaged: ") + e.what());
  }
  return results;
}

Status write_test_outputs(const std::filesystem::path& dir, const std::string& suite,
                          const TestPlan& plan, const std::vector<TestResult>& results)
{
  KILN_TRY(util::make_dirs(dir));
  KILN_TRY(util::write_file_atomic(image::out::at(dir, image::out::kTestPlan),
                                   plan_to_json(plan).dump(2) + "\n"));
  KILN_TRY(util::write_file_atomic(image::out::at(dir, image::out::kTestResults),
                                   results_to_json(results).dump(2) + "\n"));
  return util::write_file_atomic(image::out::at(dir, image::out::kJunit),
                                 junit_xml(suite, results));
}

} // namespace kiln::check
