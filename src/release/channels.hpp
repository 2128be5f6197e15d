// Channels and revocation. Each image has one channels document (images/NAME/channels) holding
// where each channel points and the audit log of every move; both change together in one
// compare-and-swap write, so the log can never miss a move. The log is only ever appended to.
// A revocation is its own create-once document (images/NAME/revoked/VERSION).
#pragma once

#include "release/config.hpp"
#include "release/version.hpp"
#include "store/store.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kiln::release {

struct AuditEntry {
  int64_t at = 0;
  std::string by;      // user@host
  std::string action;  // "promote" or "revoke"
  std::string channel; // promote only
  std::string version;
  std::string previous; // what the channel pointed to before; empty: nothing
  std::string reason;   // revoke only
};

struct ChannelState {
  std::map<std::string, std::string> pointers; // channel -> version
  std::vector<AuditEntry> history;             // oldest first

  bool was_in(const std::string& channel, const std::string& version) const;
  std::vector<std::string> channels_at(const std::string& version) const;
};

struct Revocation {
  std::string reason, by;
  int64_t at = 0;
};

std::string channels_key(const std::string& name);
std::string revoked_key(const std::string& name, const std::string& version);

Expected<ChannelState> read_channels(store::Store& store, const std::string& name);
Expected<std::optional<Revocation>> read_revocation(store::Store& store, const std::string& name,
                                                    const std::string& version);

// Why `rule` keeps `version` out of its channel, or nullopt when it may enter.
std::optional<std::string> promotion_refusal(const ChannelRule& rule, const Version& version,
                                             const ChannelState& state, bool revoked);

// Points CHANNEL at NAME@VERSION when its rules allow (exit 6 when they do not). When the
// channel already points there, nothing changes and nothing is added to the audit log: the
// entry returned then has `previous == version`.
Expected<AuditEntry> promote(store::Store& store, const ReleaseConfig& config,
                             const std::string& name, const std::string& version,
                             const std::string& channel);

struct RevokeResult {
  AuditEntry entry;
  std::vector<std::string> channels; // that still point at the version
  bool already = false;              // it was revoked before; nothing changed
};

Expected<RevokeResult> revoke(store::Store& store, const std::string& name,
                              const std::string& version, const std::string& reason);

// An image's published versions (lowest precedence first) and its channels. With
// `require_versions`, an image with no published version is an input error.
struct ImageState {
  std::vector<std::string> versions;
  ChannelState channels;
};
Expected<ImageState> read_image_state(store::Store& store, const std::string& name,
                                      bool require_versions);

nlohmann::json to_json(const AuditEntry& entry);

} // namespace kiln::release
