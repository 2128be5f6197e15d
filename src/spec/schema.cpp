#include "spec/schema.hpp"

#include "spec/definition.hpp"
#include "spec/fields.hpp"

#include <string>

namespace kiln::spec {

using nlohmann::json;

namespace {

json field_schema(const Field& field)
{
  json schema;
  switch (field.type) {
  case FieldType::string:
    schema = {{"type", "string"}};
    break;
  case FieldType::string_list:
    schema = {{"type", "array"}, {"items", {{"type", "string"}}}, {"minItems", 1}};
    break;
  case FieldType::integer:
    schema = {{"type", "integer"}, {"minimum", 0}};
    break;
  case FieldType::mode:
    schema = {{"type", "string"}, {"pattern", "^[0-7]{3,4}$"}};
    break;
  case FieldType::object:
    schema = {{"$ref", "#/$defs/" + std::string(field.shape)}};
    break;
  case FieldType::step_list:
    schema = {{"type", "array"}, {"items", {{"$ref", "#/$defs/step"}}}, {"minItems", 1}};
    break;
  case FieldType::shell:
    schema = {{"oneOf", json::array({{{"type", "string"}}, {{"$ref", "#/$defs/shell"}}})}};
    break;
  case FieldType::object_list:
    schema = {{"type", "array"}, {"items", {{"$ref", "#/$defs/" + std::string(field.shape)}}}};
    break;
  case FieldType::boolean:
    schema = {{"type", "boolean"}};
    break;
  case FieldType::secrets:
    schema = {{"type", "object"}, {"additionalProperties", {{"$ref", "#/$defs/secret"}}}};
    break;
  case FieldType::variables:
    schema = {{"type", "object"}};
    break;
  }
  schema["description"] = field.description;
  return schema;
}

json shape_schema(const Shape& shape)
{
  json properties = json::object();
  json required = json::array();
  for (const auto& field : shape.fields) {
    properties[std::string(field.key)] = field_schema(field);
    if (field.required)
      required.push_back(field.key);
  }
  json schema = {{"type", "object"},
                 {"description", shape.description},
                 {"properties", properties},
                 {"additionalProperties", false}};
  if (!required.empty())
    schema["required"] = required;
  return schema;
}

} // namespace

json json_schema()
{
  json defs = json::object();
  for (const auto& shape : shapes()) {
    if (shape.name != "definition")
      defs[std::string(shape.name)] = shape_schema(shape);
  }
  json kinds = json::array();
  for (auto kind : step_kinds())
    kinds.push_back({{"required", json::array({kind})}});
  defs["step"]["oneOf"] = kinds;
  defs["shell"]["oneOf"] = json::array({{{"required", {"run"}}}, {{"required", {"script"}}}});
  defs["secret"]["oneOf"] =
      json::array({{{"required", {"env"}}}, {{"required", {"file"}}}, {{"required", {"command"}}}});
  defs["artifact"]["oneOf"] =
      json::array({{{"required", {"dest"}}}, {{"required", {"extract_to"}}}});
  defs["artifact"]["properties"]["sha256"]["pattern"] = "^[0-9a-f]{64}$";

  json schema = shape_schema(shape("definition"));
  schema["$schema"] = "https://json-schema.org/draft/2020-12/schema";
  schema["title"] = "kiln image definition v1";
  schema["properties"]["name"]["pattern"] = "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$";
  schema["properties"]["outputs"]["items"]["enum"] = kSupportedOutputs;
  schema["properties"]["base"] = {
      {"description", "A bootstrap, catalog:NAME (an approved base), image:PATH (a built image) or "
                      "kiln:NAME@CHANNEL (a published image: a channel, a version or a range)."},
      {"oneOf", json::array({{{"type", "string"}, {"pattern", "^(catalog|image|kiln):.+$"}},
                             {{"$ref", "#/$defs/base"}}})}};
  schema["$defs"] = defs;
  return schema;
}

} // namespace kiln::spec
