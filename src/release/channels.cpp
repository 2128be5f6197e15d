#include "release/channels.hpp"

#include <algorithm>
#include <ctime>

namespace kiln::release {

using nlohmann::json;

namespace {

constexpr int kAttempts = 50; // compare-and-swap retries when other writers keep winning

json entry_json(const AuditEntry& e)
{
  json j = {{"at", e.at}, {"by", e.by}, {"action", e.action}, {"version", e.version}};
  if (!e.channel.empty())
    j["channel"] = e.channel;
  if (e.action == "promote")
    j["previous"] = e.previous.empty() ? json(nullptr) : json(e.previous);
  if (!e.reason.empty())
    j["reason"] = e.reason;
  return j;
}

Expected<ChannelState> parse_state(const std::string& text, const std::string& name)
{
  try {
    json doc = json::parse(text);
    ChannelState state;
    for (const auto& [channel, version] : doc.at("channels").items())
      state.pointers[channel] = version;
    for (const auto& e : doc.at("history")) {
      state.history.push_back(
          {e.at("at"), e.at("by"), e.at("action"), e.value("channel", ""), e.at("version"),
           e.value("previous", json()).is_string() ? e.at("previous") : "", e.value("reason", "")});
    }
    return state;
  } catch (const json::exception& ex) {
    return make_error(ExitCode::input, "the channels of " + name + " are damaged: " + ex.what());
  }
}

std::string dump_state(const ChannelState& state)
{
  json history = json::array();
  for (const auto& e : state.history)
    history.push_back(entry_json(e));
  return json{{"channels", state.pointers}, {"history", history}}.dump();
}

// Applies `change` to the channels document until the write wins over other writers.
Status update_channels(store::Store& store, const std::string& name,
                       const std::function<Status(ChannelState&)>& change)
{
  std::string key = channels_key(name);
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    auto text = store.get_document(key);
    if (!text)
      return std::move(text).error();
    ChannelState state;
    if (*text) {
      auto parsed = parse_state(**text, name);
      if (!parsed)
        return std::move(parsed).error();
      state = std::move(*parsed);
    }
    KILN_TRY(change(state));
    auto replaced = store.replace_document(key, *text, dump_state(state));
    if (!replaced)
      return std::move(replaced).error();
    if (*replaced)
      return ok_status();
  }
  return make_error(ExitCode::environment,
                    "the channels of " + name + " kept changing under this write",
                    "try again; something is moving channels in a loop");
}

} // namespace

bool ChannelState::was_in(const std::string& channel, const std::string& version) const
{
  return std::any_of(history.begin(), history.end(), [&](const AuditEntry& e) {
    return e.action == "promote" && e.channel == channel && e.version == version;
  });
}

std::vector<std::string> ChannelState::channels_at(const std::string& version) const
{
  std::vector<std::string> out;
  for (const auto& [channel, at] : pointers) {
    if (at == version)
      out.push_back(channel);
  }
  return out;
}

std::string channels_key(const std::string& name)
{
  return "images/" + name + "/channels";
}

std::string revoked_key(const std::string& name, const std::string& version)
{
  return "images/" + name + "/revoked/" + version;
}

Expected<ChannelState> read_channels(store::Store& store, const std::string& name)
{
  auto text = store.get_document(channels_key(name));
  if (!text)
    return std::move(text).error();
  if (!*text)
    return ChannelState{};
  return parse_state(**text, name);
}

Expected<std::optional<Revocation>> read_revocation(store::Store& store, const std::string& name,
                                                    const std::string& version)
{
  auto text = store.get_document(revoked_key(name, version));
  if (!text)
    return std::move(text).error();
  if (!*text)
    return std::optional<Revocation>();
  try {
    json doc = json::parse(**text);
    return std::optional<Revocation>(Revocation{doc.at("reason"), doc.at("by"), doc.at("at")});
  } catch (const json::exception& e) {
    return make_error(ExitCode::input,
                      "the revocation of " + name + "@" + version + " is damaged: " + e.what());
  }
}

std::optional<std::string> promotion_refusal(const ChannelRule& rule, const Version& version,
                                             const ChannelState& state, bool revoked)
{
  if (revoked)
    return "it is revoked";
  if (rule.tests_passed && !version.tests_passed()) {
    if (version.tests_total == 0)
      return "'" + rule.name + "' takes only versions whose tests passed, and it recorded none";
    return "'" + rule.name + "' takes only versions whose tests passed, and " +
           std::to_string(version.tests_failed) + " of its " + std::to_string(version.tests_total) +
           " tests failed";
  }
  for (const auto& earlier : rule.been_in) {
    if (!state.was_in(earlier, version.version))
      return "'" + rule.name + "' takes only versions that were in '" + earlier +
             "' before, and it never was";
  }
  return std::nullopt;
}

Expected<AuditEntry> promote(store::Store& store, const ReleaseConfig& config,
                             const std::string& name, const std::string& version,
                             const std::string& channel)
{
  const ChannelRule* rule = config.channel(channel);
  if (!rule) {
    std::string known;
    for (const auto& c : config.channels)
      known += (known.empty() ? "" : ", ") + c.name;
    return make_error(ExitCode::usage, "there is no channel '" + channel + "'",
                      "the channels are: " + known + " (set them in kiln.yaml)");
  }
  auto lock = store.lock(store::Access::shared); // gc cannot remove the version meanwhile
  if (!lock)
    return std::move(lock).error();
  auto document = read_version(store, name, version);
  if (!document)
    return std::move(document).error();
  auto revocation = read_revocation(store, name, version);
  if (!revocation)
    return std::move(revocation).error();
  AuditEntry entry{std::time(nullptr), current_identity(), "promote", channel, version, "", ""};
  Status updated = update_channels(store, name, [&](ChannelState& state) -> Status {
    auto already = state.pointers.find(channel);
    if (already != state.pointers.end() && already->second == version) {
      entry.previous = version; // nothing moves, and the audit log records no move
      return ok_status();
    }
    if (auto why = promotion_refusal(*rule, document->version, state, revocation->has_value()))
      return make_error(ExitCode::refused,
                        "cannot promote " + name + "@" + version + " to " + channel + ": " + *why);
    auto at = state.pointers.find(channel);
    entry.previous = at == state.pointers.end() ? "" : at->second;
    state.pointers[channel] = version;
    state.history.push_back(entry);
    return ok_status();
  });
  if (!updated)
    return std::move(updated).error();
  return entry;
}

Expected<RevokeResult> revoke(store::Store& store, const std::string& name,
                              const std::string& version, const std::string& reason)
{
  if (reason.empty())
    return make_error(ExitCode::usage, "a revocation needs a reason", "add --reason \"...\"");
  auto document = read_version(store, name, version);
  if (!document)
    return std::move(document).error();
  RevokeResult result;
  result.entry = {std::time(nullptr), current_identity(), "revoke", "", version, "", reason};
  auto created = store.create_document(
      revoked_key(name, version),
      json{{"reason", reason}, {"by", result.entry.by}, {"at", result.entry.at}}.dump());
  if (!created)
    return std::move(created).error();
  result.already = !*created;
  Status updated = update_channels(store, name, [&](ChannelState& state) -> Status {
    if (!result.already)
      state.history.push_back(result.entry);
    result.channels = state.channels_at(version);
    return ok_status();
  });
  if (!updated)
    return std::move(updated).error();
  return result;
}

Expected<ImageState> read_image_state(store::Store& store, const std::string& name,
                                      bool require_versions)
{
  auto versions = list_versions(store, name);
  if (!versions)
    return std::move(versions).error();
  if (require_versions && versions->empty())
    return make_error(ExitCode::input, "no version of " + name + " is published",
                      "`kiln ls` lists the images in the store");
  auto state = read_channels(store, name);
  if (!state)
    return std::move(state).error();
  return ImageState{std::move(*versions), std::move(*state)};
}

json to_json(const AuditEntry& entry)
{
  return entry_json(entry);
}

} // namespace kiln::release
