#include "bake/reports.hpp"

#include "check/record.hpp"
#include "image/out_dir.hpp"
#include "report/html.hpp"
#include "report/sbom.hpp"
#include "report/software.hpp"
#include "util/fs.hpp"

namespace kiln::bake {

using nlohmann::json;

Status write_reports(const std::filesystem::path& out, const ReportInputs& in)
{
  json sbom = report::cyclonedx(in.manifest);
  json software = report::software_report(in.manifest);
  json files(in.unowned);
  json results = in.tests.empty() ? json() : check::results_to_json(in.tests);
  KILN_TRY(util::write_file_atomic(image::out::at(out, image::out::kSbom), sbom.dump(2) + "\n"));
  KILN_TRY(util::write_file_atomic(image::out::at(out, image::out::kSoftwareReport),
                                   software.dump(2) + "\n"));
  KILN_TRY(util::write_file_atomic(image::out::at(out, image::out::kSoftwareReportMarkdown),
                                   report::software_report_markdown(in.manifest)));
  KILN_TRY(util::write_file_atomic(image::out::at(out, image::out::kFiles), files.dump(2) + "\n"));
  KILN_TRY(util::write_file_atomic(image::out::at(out, image::out::kTimings),
                                   in.timings.dump(2) + "\n"));
  json diff;
  if (in.earlier) {
    report::ImageFacts now{image::to_json(in.manifest), files, results};
    diff = report::diff_images(*in.earlier, now);
  }
  report::PageInputs page{in.manifest, in.timings, results, sbom, software, diff, in.earlier_label};
  return util::write_file_atomic(image::out::at(out, image::out::kReport),
                                 report::report_html(page));
}

} // namespace kiln::bake
