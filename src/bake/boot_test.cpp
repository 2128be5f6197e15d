#include "bake/boot_test.hpp"

#include "check/boot.hpp"
#include "check/record.hpp"
#include "check/test_output.hpp"
#include "image/out_dir.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"

#include <algorithm>

namespace kiln::bake {

namespace fs = std::filesystem;

Expected<std::vector<check::TestResult>> boot_test_image(const spec::Definition& definition,
                                                         const fs::path& out_dir,
                                                         const fs::path& export_dir,
                                                         const fs::path& scratch, StepLog& log)
{
  auto tests = check::boot_tests(check::plan_of(definition));
  check::TestPlan planned;
  for (const auto& test : tests)
    planned.push_back({"", test});
  fs::path memo =
      export_dir / ("boot-tests-" +
                    util::sha256_hex(check::plan_to_json(planned).dump()).substr(0, 16) + ".json");
  if (auto kept = util::read_json_file(memo)) {
    if (auto results = check::results_from_json(*kept)) {
      log.note("the disk and its tests are unchanged: boot test results from the cache");
      for (const auto& result : *results)
        check::record(log, result);
      return results;
    }
  }
  check::BootTestOptions options;
  auto disk = check::verified_disk(out_dir, options.format);
  if (!disk)
    return std::move(disk).error();
  options.disk = *disk;
  options.scratch = scratch;
  options.console_log = image::out::at(out_dir, image::out::kLogs) / "boot-console.log";
  KILN_TRY(util::make_dirs(scratch));
  auto results = check::run_boot_tests(tests, options, log);
  (void)util::remove_tree(scratch);
  if (!results)
    return results;
  bool passed = std::all_of(results->begin(), results->end(),
                            [](const check::TestResult& r) { return r.passed; });
  if (passed)
    KILN_TRY(util::write_file_atomic(memo, check::results_to_json(*results).dump() + "\n"));
  return results;
}

} // namespace kiln::bake
