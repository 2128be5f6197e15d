#include "check/test_output.hpp"

#include "image/out_dir.hpp"
#include "sandbox/unpack.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"

#include <unistd.h>

namespace kiln::check {

namespace fs = std::filesystem;

Expected<TestPlan> recorded_plan(const fs::path& out_dir)
{
  fs::path file = image::out::tests_at(out_dir, image::out::kTestPlan);
  if (!fs::exists(file)) {
    return make_error(ExitCode::input,
                      out_dir.string() + " has no recorded tests (" + file.string() + ")",
                      "the image was baked without tests; give them with --definition FILE");
  }
  auto parsed = util::read_json_file(file);
  if (!parsed)
    return std::move(parsed).error();
  return plan_from_json(*parsed);
}

Expected<fs::path> verified_disk(const fs::path& out_dir, std::string& format)
{
  auto built = image::out::read_finished(out_dir);
  if (!built)
    return std::move(built).error();
  for (const char* kind : {"raw", "qcow2"}) {
    std::string file = std::string("disk.") + kind;
    std::string want = built->sha256_of(file);
    if (want.empty())
      continue;
    fs::path disk = out_dir / file;
    auto actual = util::sha256_file(disk);
    if (!actual)
      return std::move(actual).error();
    if (*actual != want)
      return make_error(ExitCode::input,
                        disk.string() + " does not match the manifest (sha256 " + *actual +
                            ", manifest says " + want + ")",
                        "the disk was changed after the build: build it again");
    format = kind;
    return disk;
  }
  return make_error(ExitCode::input, out_dir.string() + " has no disk to boot",
                    "add raw or qcow2 to the definition's outputs: and build it again");
}

Expected<TestRun> test_output(const fs::path& out_dir, const TestPlan& plan,
                              const fs::path& scratch, util::ProcessObserver& log)
{
  auto built = image::out::read_verified(out_dir, "the image");
  if (!built)
    return std::move(built).error();
  fs::path rootfs = image::out::at(out_dir, image::out::kRootfsTar);
  KILN_TRY(util::remove_tree(scratch));
  KILN_TRY(util::make_dirs(scratch / "merged"));
  log.on_line("unpacking " + rootfs.string());
  Status unpacked = sandbox::extract_confined(rootfs, scratch / "tree", 0, true, &log);
  std::vector<TestResult> results;
  Status ran = unpacked;
  if (ran) {
    sandbox::RunOptions tree;
    tree.root = scratch / "merged";
    tree.overlay = sandbox::Overlay{scratch, {"tree"}, "", ""};
    // Consecutive tests of one step run together, as they did at bake time.
    for (size_t first = 0; first < plan.size() && ran;) {
      size_t end = first;
      std::vector<spec::ImageTest> group;
      while (end < plan.size() && plan[end].step == plan[first].step)
        group.push_back(plan[end++].test);
      auto done = run_tests(group, plan[first].step, tree, scratch / "work", log);
      if (done)
        results.insert(results.end(), done->begin(), done->end());
      else
        ran = std::move(done).error();
      first = end;
    }
  }
  Status removed = util::remove_tree(scratch);
  KILN_TRY(ran);
  KILN_TRY(removed);
  return TestRun{built->name + " " + built->version, std::move(results)};
}

} // namespace kiln::check
