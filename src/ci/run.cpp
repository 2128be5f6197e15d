#include "ci/run.hpp"

#include "ci/versioning.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"

#include <cctype>

namespace kiln::ci {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr size_t kMaxManifestBytes = 64 << 20;

// Passes a command's lines on, indented, and keeps the last one for the summary.
class Lines : public util::ProcessObserver {
public:
  explicit Lines(const std::function<void(const std::string&)>& line) : line_(line) {}
  void on_line(std::string_view text) override
  {
    last_ = std::string(text);
    if (line_)
      line_("  " + last_);
  }
  const std::string& last() const { return last_; }

private:
  const std::function<void(const std::string&)>& line_;
  std::string last_;
};

// Runs `kiln ARGS...`; "" when it succeeded, else what failed.
std::string run_kiln(const RunOptions& options, std::vector<std::string> args,
                     int* exit_code = nullptr)
{
  args.insert(args.begin(), options.kiln.string());
  if (options.line)
    options.line("$ kiln " + [&] {
      std::string text;
      for (size_t i = 1; i < args.size(); ++i)
        text += (i > 1 ? " " : "") + args[i];
      return text;
    }());
  Lines lines(options.line);
  util::ProcessSpec spec;
  spec.argv = args;
  auto result = util::run_process(spec, &lines);
  if (!result)
    return result.error().message;
  if (exit_code)
    *exit_code = result->exit_code;
  if (result->success())
    return "";
  return "kiln " + args[1] + " failed (" + result->describe() + ")" +
         (lines.last().empty() ? "" : ": " + lines.last());
}

std::map<std::string, std::string> built_packages(const fs::path& out)
{
  std::map<std::string, std::string> packages;
  auto text = util::read_file_bounded(out / "manifest.json", kMaxManifestBytes, "a manifest");
  if (!text)
    return packages;
  json manifest = json::parse(*text, nullptr, false);
  if (manifest.is_object() && manifest.contains("packages") && manifest["packages"].is_array())
    for (const auto& p : manifest["packages"])
      if (p.is_object() && p.value("name", "") != "")
        packages[p.value("name", "")] = p.value("version", "");
  return packages;
}

// Build, test and, when the plan says so, publish and move the channel.
ImageOutcome build_image(const Decision& decision, const ImagePlan& plan, const RunOptions& options)
{
  ImageOutcome out{plan.name, "", plan.version, plan.channel, plan.reason, "", {}, 0};
  out.out = options.out_root / plan.name;
  std::vector<std::string> build = {"build", (decision.checkout.root / plan.definition).string(),
                                    "--out", out.out.string()};
  if (plan.version != plan.definition_version)
    build.insert(build.end(), {"--version", plan.version});
  if (std::string failed = run_kiln(options, build); !failed.empty()) {
    out.result = "failed";
    out.detail = failed;
    return out;
  }
  if (plan.suggest_bump) {
    Bump bump =
        suggest_bump(plan.definition_version, plan.published_packages, built_packages(out.out));
    out.result = "refused";
    out.bump = bump.kind + " (" + bump.reason + "): version: " + bump.next;
    return out;
  }
  if (!plan.publish) {
    out.result = "built";
    return out;
  }
  std::vector<std::string> publish = {"publish", out.out.string()};
  publish.insert(publish.end(), options.store_args.begin(), options.store_args.end());
  if (std::string failed = run_kiln(options, publish); !failed.empty()) {
    out.result = "failed";
    out.detail = failed;
    return out;
  }
  out.result = "published";
  if (plan.channel.empty())
    return out;
  std::vector<std::string> promote = {"promote", plan.name + "@" + plan.version, "--to",
                                      plan.channel};
  promote.insert(promote.end(), options.store_args.begin(), options.store_args.end());
  if (std::string failed = run_kiln(options, promote); !failed.empty()) {
    out.detail = "published, but channel " + plan.channel + " did not move: " + failed;
    out.channel.clear();
    out.exit_code = static_cast<int>(ExitCode::refused);
  }
  return out;
}

int exit_code_of(const ImageOutcome& outcome)
{
  if (outcome.result == "failed")
    return static_cast<int>(ExitCode::build_failed);
  if (outcome.result == "invalid")
    return static_cast<int>(ExitCode::invalid_definition);
  if (outcome.result == "refused")
    return static_cast<int>(ExitCode::refused);
  return outcome.exit_code;
}

std::string planned(const ImagePlan& plan)
{
  if (!plan.publish)
    return "build and test";
  return "build, test, publish " + plan.version +
         (plan.channel.empty() ? "" : ", move " + plan.channel);
}

} // namespace

Summary carry_out(const Decision& decision, const RunOptions& options)
{
  Summary summary;
  for (const auto& plan : decision.images) {
    ImageOutcome out{plan.name, "", plan.version, "", plan.reason, "", {}, 0};
    switch (plan.action) {
    case Action::invalid:
      out.result = "invalid";
      break;
    case Action::refuse:
      out.result = options.dry_run || !plan.suggest_bump ? "refused" : "";
      break;
    case Action::skip:
      out.result = "skipped";
      break;
    case Action::unchanged:
      out.result = "unchanged";
      break;
    case Action::build:
      if (options.dry_run)
        out = {plan.name, "planned", plan.version, plan.channel, planned(plan), "", {}, 0};
      break;
    }
    if (out.result.empty())
      out = build_image(decision, plan, options);
    if (!plan.problems.empty())
      for (const auto& problem : plan.problems)
        out.detail += "\n" + problem;
    if (int code = exit_code_of(out); code != 0 && summary.exit_code == 0)
      summary.exit_code = code; // the first failure's
    summary.images.push_back(std::move(out));
  }
  return summary;
}

json to_json(const Decision& decision, const Summary& summary)
{
  json out = to_json(decision);
  json images = json::array();
  for (const auto& image : summary.images)
    images.push_back({{"name", image.name},
                      {"result", image.result},
                      {"version", image.version},
                      {"channel", image.channel.empty() ? json(nullptr) : json(image.channel)},
                      {"detail", image.detail},
                      {"bump", image.bump.empty() ? json(nullptr) : json(image.bump)},
                      {"out", image.out.empty() ? json(nullptr) : json(image.out.string())}});
  out["results"] = images;
  out["exit_code"] = summary.exit_code;
  return out;
}

namespace {

// An image's name as a variable name: letters, digits and '_'.
std::string variable_name(const std::string& name)
{
  std::string out;
  for (char c : name)
    out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

std::string published_list(const Summary& summary)
{
  std::string list;
  for (const auto& image : summary.images)
    if (image.result == "published")
      list += (list.empty() ? "" : ",") + image.name + "@" + image.version;
  return list;
}

} // namespace

std::vector<std::string> azure_variables(const Summary& summary)
{
  std::vector<std::string> lines;
  auto set = [&](const std::string& name, const std::string& value) {
    lines.push_back("##vso[task.setvariable variable=" + name + ";isOutput=true]" + value);
  };
  set("KILN_PUBLISHED", published_list(summary));
  for (const auto& image : summary.images) {
    set("KILN_" + variable_name(image.name) + "_RESULT", image.result);
    set("KILN_" + variable_name(image.name) + "_VERSION", image.version);
  }
  return lines;
}

std::vector<std::string> github_outputs(const Summary& summary)
{
  std::vector<std::string> lines = {"published=" + published_list(summary)};
  for (const auto& image : summary.images) {
    lines.push_back(variable_name(image.name) + "_result=" + image.result);
    lines.push_back(variable_name(image.name) + "_version=" + image.version);
  }
  return lines;
}

std::string markdown_summary(const Decision& decision, const Summary& summary)
{
  std::string md = "### kiln ci: " + decision.ref.describe() + " at `" +
                   decision.checkout.short_commit() + "`\n\n";
  md += "| image | result | version | channel | detail |\n|---|---|---|---|---|\n";
  auto cell = [](std::string text) {
    for (auto& c : text)
      if (c == '|' || c == '\n')
        c = ' ';
    return text;
  };
  for (const auto& image : summary.images)
    md += "| " + cell(image.name) + " | " + image.result + " | `" + cell(image.version) + "` | " +
          cell(image.channel) + " | " + cell(image.bump.empty() ? image.detail : image.bump) +
          " |\n";
  return md;
}

} // namespace kiln::ci
