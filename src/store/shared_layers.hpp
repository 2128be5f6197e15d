// Layers of a build cache kept in a store, so that machines that start empty (ephemeral CI
// agents) share one cache: the document `cache/layers/KEY` names the layer's archive (a file of
// chunks, chunks.hpp) and what a reader needs to put it back, and is signed.
//
//   {"layer": {"key": KEY, "digest": ..., "archive": <StoredFile>, "specials": {...},
//              "meta": {...what the key was made of...}, "created": UNIX-SECONDS},
//    "signatures": [{"keyid": "ed25519:...", "sig": BASE64}]}
//
// The signature covers "kiln-layer-v1\n" and the layer object as sorted JSON. A reader takes a
// document only when it is signed by the public key it trusts; a writer signs with the private
// one. The cache's keys are the build's own cache keys (hex), so a key read from a listing is
// checked before it names a document. Knows nothing of images or of how layers are built.
#pragma once

#include "store/chunks.hpp"
#include "store/store.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace kiln::store {

inline constexpr const char* kSharedLayersPrefix = "cache/layers/";

struct SharedLayer {
  std::string key;
  std::string digest; // the layer's digest, which the layers above chain in their keys
  StoredFile archive;
  nlohmann::json specials; // what the archive cannot carry (bake/layer_archive.hpp)
  nlohmann::json meta;     // the image, step, kind, inputs and epoch it was built with
  int64_t created = 0;
};

// A cache key as the build makes them: 64 lowercase hex digits.
bool is_layer_key(const std::string& key);

// The signed document for `layer`.
Expected<std::string> shared_layer_document(const SharedLayer& layer,
                                            const std::filesystem::path& private_key);

// The layer under KEY, checked against `public_key`: nullopt when the store has none; an error
// (exit 4) when the document is malformed, unsigned, signed by another key, or names another key.
Expected<std::optional<SharedLayer>> read_shared_layer(Store& store, const std::string& key,
                                                       const std::filesystem::path& public_key);

// The layer in the document stored under KEY, checked as read_shared_layer checks it.
Expected<SharedLayer> check_shared_layer(const std::string& document, const std::string& key,
                                         const std::filesystem::path& public_key);

// The layer in a document, without checking its signature (gc and fsck only read which chunks
// it keeps).
Expected<SharedLayer> parse_shared_layer(const std::string& document);

// The keys of the layers the store holds; names that are not keys are left out.
Expected<std::vector<std::string>> list_shared_layers(Store& store);

} // namespace kiln::store
