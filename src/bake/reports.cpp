#include "bake/reports.hpp"

#include "report/html.hpp"
#include "report/sbom.hpp"
#include "report/software.hpp"
#include "util/fs.hpp"
#include "verify/record.hpp"

namespace kiln::bake {

using nlohmann::json;

Status write_reports(const std::filesystem::path& out, const ReportInputs& in)
{
  json sbom = report::cyclonedx(in.manifest);
  json software = report::software_report(in.manifest);
  json files(in.unowned);
  json results = in.tests.empty() ? json() : verify::results_to_json(in.tests);
  KILN_TRY(util::write_file_atomic(out / "sbom.cdx.json", sbom.dump(2) + "\n"));
  KILN_TRY(util::write_file_atomic(out / "software-report.json", software.dump(2) + "\n"));
  KILN_TRY(util::write_file_atomic(out / "software-report.md",
                                   report::software_report_markdown(in.manifest)));
  KILN_TRY(util::write_file_atomic(out / "files.json", files.dump(2) + "\n"));
  KILN_TRY(util::write_file_atomic(out / "timings.json", in.timings.dump(2) + "\n"));
  json diff;
  if (in.earlier) {
    report::ImageFacts now{image::to_json(in.manifest), files, results};
    diff = report::diff_images(*in.earlier, now);
  }
  report::PageInputs page{in.manifest, in.timings, results, sbom, software, diff, in.earlier_label};
  return util::write_file_atomic(out / "report.html", report::report_html(page));
}

} // namespace kiln::bake
