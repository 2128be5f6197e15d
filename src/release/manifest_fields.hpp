// Lenient reads of an image's manifest.json for publishing: a field that is missing or null (an
// image without tests, a bootstrap without a mirror) reads as empty instead of throwing.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace kiln::release {

inline const nlohmann::json& field(const nlohmann::json& j, const char* key)
{
  static const nlohmann::json none;
  if (!j.is_object())
    return none;
  auto it = j.find(key);
  return it == j.end() ? none : *it;
}

inline std::string text(const nlohmann::json& j, const char* key)
{
  const nlohmann::json& value = field(j, key);
  return value.is_string() ? value.get<std::string>() : std::string();
}

inline int number(const nlohmann::json& j, const char* key)
{
  const nlohmann::json& value = field(j, key);
  return value.is_number_integer() ? value.get<int>() : 0;
}

} // namespace kiln::release
