#include "store/shared_layers.hpp"

#include "util/signing.hpp"

namespace kiln::store {

using nlohmann::json;

namespace {

std::string signed_message(const json& layer)
{
  return "kiln-layer-v1\n" + layer.dump(); // nlohmann::json keeps keys sorted
}

json body_of(const SharedLayer& layer)
{
  return {
      {"key", layer.key},           {"digest", layer.digest}, {"archive", to_json(layer.archive)},
      {"specials", layer.specials}, {"meta", layer.meta},     {"created", layer.created}};
}

Error malformed(const std::string& key, const std::string& why)
{
  return make_error(ExitCode::input,
                    "the shared cache's layer " + key.substr(0, 12) + " is not usable: " + why,
                    "it is skipped; `kiln gc` on the cache store removes layers that are old");
}

Expected<SharedLayer> layer_from(const json& body)
{
  SharedLayer layer;
  layer.key = body.at("key").get<std::string>();
  layer.digest = body.at("digest").get<std::string>();
  auto archive = stored_file_from_json(body.at("archive"));
  if (!archive)
    return std::move(archive).error();
  layer.archive = std::move(*archive);
  layer.specials = body.at("specials");
  layer.meta = body.value("meta", json::object());
  layer.created = body.value("created", int64_t{0});
  if (!is_layer_key(layer.key) || !is_layer_key(layer.digest))
    return malformed(layer.key, "its key or digest is not a digest");
  return layer;
}

} // namespace

bool is_layer_key(const std::string& key)
{
  return key.size() == 64 && key.find_first_not_of("0123456789abcdef") == std::string::npos;
}

Expected<std::string> shared_layer_document(const SharedLayer& layer,
                                            const std::filesystem::path& private_key)
{
  json body = body_of(layer);
  auto signed_by = util::sign_keyed(signed_message(body), private_key);
  if (!signed_by)
    return std::move(signed_by).error();
  json signatures = json::array({{{"keyid", signed_by->keyid}, {"sig", signed_by->sig}}});
  return json{{"layer", body}, {"signatures", signatures}}.dump() + "\n";
}

Expected<SharedLayer> parse_shared_layer(const std::string& document)
{
  try {
    return layer_from(json::parse(document).at("layer"));
  } catch (const json::exception& e) {
    return malformed("(unknown)", e.what());
  }
}

Expected<SharedLayer> check_shared_layer(const std::string& document, const std::string& key,
                                         const std::filesystem::path& public_key)
{
  try {
    json parsed = json::parse(document);
    const json& body = parsed.at("layer");
    bool valid = false;
    for (const auto& signature : parsed.at("signatures")) {
      auto checked = util::verify_signature(signed_message(body),
                                            signature.at("sig").get<std::string>(), public_key);
      if (!checked)
        return std::move(checked).error();
      valid = valid || *checked;
    }
    if (!valid)
      return malformed(key, "it has no valid signature by the key in " + public_key.string());
    auto layer = layer_from(body);
    if (!layer)
      return std::move(layer).error();
    if (layer->key != key)
      return malformed(key, "its document names another key");
    return layer;
  } catch (const json::exception& e) {
    return malformed(key, e.what());
  }
}

Expected<std::optional<SharedLayer>> read_shared_layer(Store& store, const std::string& key,
                                                       const std::filesystem::path& public_key)
{
  if (!is_layer_key(key))
    return malformed(key, "not a cache key");
  auto text = store.get_document(kSharedLayersPrefix + key);
  if (!text)
    return std::move(text).error();
  if (!*text)
    return std::optional<SharedLayer>();
  auto layer = check_shared_layer(**text, key, public_key);
  if (!layer)
    return std::move(layer).error();
  return std::optional<SharedLayer>(std::move(*layer));
}

Expected<std::vector<std::string>> list_shared_layers(Store& store)
{
  auto names = store.list_documents(kSharedLayersPrefix);
  if (!names)
    return std::move(names).error();
  std::vector<std::string> keys;
  for (const auto& name : *names) {
    std::string key = name.substr(std::string(kSharedLayersPrefix).size());
    if (is_layer_key(key))
      keys.push_back(key);
  }
  return keys;
}

} // namespace kiln::store
