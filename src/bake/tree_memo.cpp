#include "bake/tree_memo.hpp"

#include "bake/cache_layout.hpp"
#include "check/record.hpp"
#include "check/tools.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/version.hpp"

#include <algorithm>

namespace kiln::bake {

namespace fs = std::filesystem;

namespace {

fs::path answer_file(LayerCache& cache, const std::string& tree_digest,
                     const nlohmann::json& question)
{
  // kiln's version is part of the key: another kiln may run or judge the commands differently.
  std::string key =
      util::sha256_hex(std::string(kVersion) + "\n" + tree_digest + "\n" + question.dump());
  return cache::at(cache.dir(), cache::kAnswers) / (key + ".json");
}

} // namespace

std::optional<nlohmann::json> recall_answer(LayerCache& cache, const std::string& tree_digest,
                                            const nlohmann::json& question)
{
  auto text = util::read_file_bounded(answer_file(cache, tree_digest, question), 16 << 20);
  if (!text)
    return std::nullopt;
  auto answer = nlohmann::json::parse(*text, nullptr, false);
  if (answer.is_discarded() || !answer.is_object() ||
      answer.value("question", nlohmann::json()) != question)
    return std::nullopt;
  return answer.at("answer");
}

void remember_answer(LayerCache& cache, const std::string& tree_digest,
                     const nlohmann::json& question, const nlohmann::json& answer)
{
  fs::path file = answer_file(cache, tree_digest, question);
  if (!util::make_dirs(file.parent_path()))
    return;
  nlohmann::json record = {{"question", question}, {"answer", answer}};
  (void)util::write_file_atomic(
      file, record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n", 0600);
}

Expected<std::vector<check::TestResult>>
tree_test_results(LayerCache& cache, const std::string& tree_digest,
                  const std::vector<spec::ImageTest>& tests, const std::string& step,
                  const sandbox::RunOptions& tree, const fs::path& scratch,
                  util::ProcessObserver& log)
{
  check::TestPlan plan;
  for (const auto& test : tests)
    plan.push_back({step, test});
  nlohmann::json question = {{"tests", check::plan_to_json(plan)}};
  if (auto answer = recall_answer(cache, tree_digest, question)) {
    auto results = check::results_from_json(*answer);
    if (results && results->size() == tests.size()) {
      log.on_line("the same " + std::to_string(tests.size()) +
                  " tests passed on this tree before; not run again");
      return results;
    }
  }
  auto results = check::run_tests(tests, step, tree, scratch, log);
  if (results && std::all_of(results->begin(), results->end(),
                             [](const check::TestResult& r) { return r.passed; }))
    remember_answer(cache, tree_digest, question, check::results_to_json(*results));
  return results;
}

Expected<std::vector<image::Tool>>
tree_tool_versions(LayerCache& cache, const std::string& tree_digest,
                   const std::vector<spec::ReportCommand>& report, const sandbox::RunOptions& tree,
                   const fs::path& scratch, util::ProcessObserver& log)
{
  nlohmann::json commands = nlohmann::json::array();
  for (const auto& c : report)
    commands.push_back({{"name", c.name}, {"command", c.command}, {"category", c.category}});
  nlohmann::json question = {{"report", commands}};
  if (auto answer = recall_answer(cache, tree_digest, question); answer && answer->is_array()) {
    std::vector<image::Tool> tools;
    for (const auto& t : *answer) {
      tools.push_back({t.value("name", ""), t.value("category", ""), t.value("version", ""),
                       t.value("output", "")});
    }
    log.on_line("tool versions from the last report on this tree");
    return tools;
  }
  auto tools = check::tool_versions(report, tree, scratch, log);
  if (tools) {
    nlohmann::json answer = nlohmann::json::array();
    for (const auto& t : *tools) {
      answer.push_back({{"name", t.name},
                        {"category", t.category},
                        {"version", t.version},
                        {"output", t.output}});
    }
    remember_answer(cache, tree_digest, question, answer);
  }
  return tools;
}

} // namespace kiln::bake
