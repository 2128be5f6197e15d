#include "cli/commands.hpp"
#include "cli/release_options.hpp"
#include "release/browse.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <cstdio>

namespace kiln::cli {

using nlohmann::json;

namespace {

std::string joined(const json& list)
{
  std::string out;
  for (const auto& item : list)
    out += (out.empty() ? "" : ",") + item.get<std::string>();
  return out.empty() ? "-" : out;
}

// Channels in promotion order (kiln.yaml's: dev, staging, prod by default), others after them by
// name: `ls` and `show` list them as a version moves through them, not alphabetically.
class ChannelOrder {
public:
  explicit ChannelOrder(const release::ReleaseConfig& config)
  {
    for (const auto& channel : config.channels)
      rank_.push_back(channel.name);
  }

  // The channels of a {"channel": "version"} object, as (channel, version) pairs.
  std::vector<std::pair<std::string, std::string>> pointers(const json& object) const
  {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& [channel, version] : object.items())
      out.emplace_back(channel, version.get<std::string>());
    std::stable_sort(out.begin(), out.end(), [this](const auto& a, const auto& b) {
      return rank(a.first) < rank(b.first);
    });
    return out;
  }

  // A list of channel names, joined with commas; "-" when empty.
  std::string joined(const json& list) const
  {
    std::vector<std::string> names;
    for (const auto& item : list)
      names.push_back(item.get<std::string>());
    std::stable_sort(names.begin(), names.end(),
                     [this](const auto& a, const auto& b) { return rank(a) < rank(b); });
    return names.empty() ? "-" : util::join(names, ",");
  }

private:
  std::vector<std::string> rank_;

  size_t rank(const std::string& channel) const
  {
    return static_cast<size_t>(std::find(rank_.begin(), rank_.end(), channel) - rank_.begin());
  }
};

std::string tests_text(const json& tests)
{
  int total = tests.at("total"), failed = tests.at("failed");
  if (total == 0)
    return "none";
  return failed ? std::to_string(failed) + "/" + std::to_string(total) + " failed"
                : std::to_string(total) + " passed";
}

void print_images(const json& images, const ChannelOrder& order)
{
  if (images.empty()) {
    std::printf("the store holds no images yet (kiln publish OUT adds one)\n");
    return;
  }
  std::printf("%-28s %-9s %-14s %s\n", "IMAGE", "VERSIONS", "NEWEST", "CHANNELS");
  for (const auto& image : images) {
    std::string channels;
    for (const auto& [channel, version] : order.pointers(image.at("channels")))
      channels += (channels.empty() ? "" : " ") + channel + "=" + version;
    std::printf("%-28s %-9s %-14s %s\n", image.at("name").get<std::string>().c_str(),
                std::to_string(image.at("versions").get<int>()).c_str(),
                image.at("newest").get<std::string>().c_str(),
                channels.empty() ? "-" : channels.c_str());
  }
}

void print_versions(const json& versions, const ChannelOrder& order)
{
  std::printf("%-16s %-21s %-10s %-14s %-16s %s\n", "VERSION", "PUBLISHED", "SIZE", "TESTS",
              "CHANNELS", "NOTE");
  for (const auto& v : versions) {
    std::string note = v.at("revoked").get<bool>() ? "revoked" : "";
    if (!v.at("signed").get<bool>())
      note += note.empty() ? "unsigned" : ", unsigned";
    std::printf("%-16s %-21s %-10s %-14s %-16s %s\n", v.at("version").get<std::string>().c_str(),
                v.at("published").get<std::string>().c_str(),
                util::format_bytes(v.at("size").get<double>()).c_str(),
                tests_text(v.at("tests")).c_str(), order.joined(v.at("channels")).c_str(),
                note.c_str());
  }
}

void print_version(const json& v, const ChannelOrder& order)
{
  std::printf("%s@%s (%s)\n", v.at("name").get<std::string>().c_str(),
              v.at("version").get<std::string>().c_str(),
              v.at("resolved_by").get<std::string>().c_str());
  std::printf("  published   %s by %s\n", v.at("published").get<std::string>().c_str(),
              v.at("publisher").get<std::string>().c_str());
  std::printf("  size        %s in %zu files\n",
              util::format_bytes(v.at("size").get<double>()).c_str(), v.at("files").size());
  std::printf("  tests       %s\n", tests_text(v.at("tests")).c_str());
  std::printf("  signed by   %s\n", joined(v.at("signatures")).c_str());
  std::printf("  channels    %s\n", order.joined(v.at("channels")).c_str());
  std::printf("  parent      %s\n",
              v.at("parent").is_null() ? "-" : v.at("parent").get<std::string>().c_str());
  std::printf("  children    %s\n", joined(v.at("children")).c_str());
  std::printf("  manifest    sha256:%s\n", v.at("manifest_sha256").get<std::string>().c_str());
  if (v.contains("revocation"))
    std::printf("  REVOKED     %s (by %s, %s)\n",
                v["revocation"].at("reason").get<std::string>().c_str(),
                v["revocation"].at("by").get<std::string>().c_str(),
                v["revocation"].at("at").get<std::string>().c_str());
  std::printf("  files:\n");
  for (const auto& f : v.at("files"))
    std::printf("    %-40s %10s  sha256:%.16s…\n", f.at("path").get<std::string>().c_str(),
                util::format_bytes(f.at("size").get<double>()).c_str(),
                f.at("sha256").get<std::string>().c_str());
}

void print_image(const json& image, const ChannelOrder& order)
{
  std::printf("%s: %zu versions\n  channels:\n", image.at("name").get<std::string>().c_str(),
              image.at("versions").size());
  for (const auto& [channel, version] : order.pointers(image.at("channels")))
    std::printf("    %-10s %s\n", channel.c_str(), version.c_str());
  std::printf("  history:\n");
  for (const auto& e : image.at("history")) {
    std::string action = e.at("action");
    std::string what =
        action == "promote"
            ? e.at("channel").get<std::string>() + " -> " + e.at("version").get<std::string>() +
                  " (was " +
                  (e.at("previous").is_null() ? "nothing" : e["previous"].get<std::string>()) + ")"
            : "revoked " + e.at("version").get<std::string>() + ": " +
                  e.at("reason").get<std::string>();
    std::printf("    %s  %-20s %s\n", e.at("at").get<std::string>().c_str(),
                e.at("by").get<std::string>().c_str(), what.c_str());
  }
}

struct BrowseOptions : ReleaseOptions {
  std::string what;
};

int run_ls(const BrowseOptions& options)
{
  auto opened = open_release(options);
  if (!opened)
    return report(opened.error());
  auto listed = options.what.empty() ? release::list_store(*opened->store)
                                     : release::list_image(*opened->store, options.what);
  if (!listed)
    return report(listed.error());
  if (options.json)
    print_json(*listed);
  else if (options.what.empty())
    print_images(*listed, ChannelOrder(opened->config));
  else
    print_versions(*listed, ChannelOrder(opened->config));
  return 0;
}

int run_show(const BrowseOptions& options)
{
  auto opened = open_release(options);
  if (!opened)
    return report(opened.error());
  bool image = options.what.find('@') == std::string::npos;
  auto shown = image ? release::show_image(*opened->store, options.what)
                     : release::show_version(*opened->store, opened->config, options.what);
  if (!shown)
    return report(shown.error());
  if (options.json)
    print_json(*shown);
  else if (image)
    print_image(*shown, ChannelOrder(opened->config));
  else
    print_version(*shown, ChannelOrder(opened->config));
  return 0;
}

} // namespace

Command add_ls(CLI::App& app)
{
  auto options = std::make_shared<BrowseOptions>();
  auto* sub = app.add_subcommand("ls", "List the store's images, or one image's versions");
  sub->add_option("name", options->what, "An image: list its versions, newest first");
  add_release_options(sub, *options, Keys::none);
  sub->footer(R"(Examples:
  kiln ls --store /srv/kiln-store
  kiln ls linux-agent
  kiln ls linux-agent --json | jq -r '.[] | select(.revoked) | .version')");
  return {sub, [options] { return run_ls(*options); }};
}

Command add_show(CLI::App& app)
{
  auto options = std::make_shared<BrowseOptions>();
  auto* sub = app.add_subcommand("show", "Show a version, or an image's channels and audit log");
  sub->add_option("ref", options->what, "NAME@VERSION|CHANNEL|RANGE, or NAME")->required();
  add_release_options(sub, *options, Keys::none);
  sub->footer(R"(For a version: when and by whom it was published, its files, tests, signature,
channels, revocation, its parent image and the images built on it. For an image: where each
channel points and every promotion and revocation, oldest first.

Examples:
  kiln show linux-agent@prod
  kiln show linux-agent            # channels and the audit log
  kiln show linux-agent@1.1.0 --json)");
  return {sub, [options] { return run_show(*options); }};
}

} // namespace kiln::cli
