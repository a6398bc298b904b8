#include "api/json_schema.h"

#include <regex>
#include <set>

namespace agentron {
namespace {

using nlohmann::json;

Error bad(const std::string& where, const std::string& what) {
  return Error{"bad_input", (where.empty() ? std::string("input") : where) + ": " + what};
}

std::string field(const std::string& parent, const std::string& name) {
  return parent.empty() ? name : parent + "." + name;
}

bool has_type(const json& value, const std::string& type) {
  if (type == "object") return value.is_object();
  if (type == "string") return value.is_string();
  if (type == "integer") return value.is_number_integer();
  if (type == "boolean") return value.is_boolean();
  if (type == "array") return value.is_array();
  return false;
}

// The number of characters (code points) of UTF-8 text, as JSON Schema counts length.
size_t code_points(const std::string& text) {
  size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

Status validate_at(const json& schema, const json& value, const std::string& where);

std::string unknown_field(const std::string& name, const json& properties) {
  std::string names;
  for (const auto& [known, unused] : properties.items()) names += (names.empty() ? "" : ", ") + known;
  return "unknown field \"" + name + "\"; " + (names.empty() ? "this takes no fields" : "the fields are " + names);
}

Status validate_object(const json& schema, const json& value, const std::string& where) {
  const json empty = json::object();
  const json& properties = schema.contains("properties") ? schema["properties"] : empty;
  for (const auto& name : schema.value("required", json::array())) {
    if (!value.contains(name.get<std::string>())) return bad(field(where, name), "is required");
  }
  for (const auto& [name, item] : value.items()) {
    if (!properties.contains(name)) {
      if (schema.value("additionalProperties", true) == false) return bad(where, unknown_field(name, properties));
      continue;
    }
    if (auto s = validate_at(properties[name], item, field(where, name)); !s) return s;
  }
  return ok_status();
}

Status validate_string(const json& schema, const std::string& text, const std::string& where) {
  size_t length = code_points(text);
  if (schema.contains("minLength") && length < schema["minLength"].get<size_t>())
    return bad(where, "must be at least " + std::to_string(schema["minLength"].get<size_t>()) + " characters");
  if (schema.contains("maxLength") && length > schema["maxLength"].get<size_t>())
    return bad(where, "must be at most " + std::to_string(schema["maxLength"].get<size_t>()) + " characters");
  if (schema.contains("pattern")) {
    const std::string pattern = schema["pattern"].get<std::string>();
    // JSON Schema patterns are not anchored; the catalog's anchor themselves.
    if (!std::regex_search(text, std::regex(pattern, std::regex::ECMAScript)))
      return bad(where, "\"" + text.substr(0, 80) + "\" does not match " + pattern);
  }
  return ok_status();
}

Status validate_at(const json& schema, const json& value, const std::string& where) {
  if (schema.contains("type")) {
    std::string type = schema["type"].get<std::string>();
    bool vowel = type == "object" || type == "array" || type == "integer";
    if (!has_type(value, type)) return bad(where, std::string("must be ") + (vowel ? "an " : "a ") + type);
  }
  if (schema.contains("enum")) {
    bool listed = false;
    for (const auto& option : schema["enum"]) listed = listed || option == value;
    if (!listed) return bad(where, "must be one of " + schema["enum"].dump());
  }
  if (value.is_object()) return validate_object(schema, value, where);
  if (value.is_string()) return validate_string(schema, value.get<std::string>(), where);
  if (value.is_number_integer()) {
    auto n = value.get<std::int64_t>();
    if (schema.contains("minimum") && n < schema["minimum"].get<std::int64_t>())
      return bad(where, "must be at least " + schema["minimum"].dump());
    if (schema.contains("maximum") && n > schema["maximum"].get<std::int64_t>())
      return bad(where, "must be at most " + schema["maximum"].dump());
  }
  if (value.is_array()) {
    if (schema.contains("maxItems") && value.size() > schema["maxItems"].get<size_t>())
      return bad(where, "must have at most " + schema["maxItems"].dump() + " items");
    if (schema.contains("items")) {
      for (size_t i = 0; i < value.size(); ++i) {
        if (auto s = validate_at(schema["items"], value[i], where + "[" + std::to_string(i) + "]"); !s) return s;
      }
    }
  }
  return ok_status();
}

const std::set<std::string> kKnownKeywords = {"$schema", "type",    "properties", "required",    "additionalProperties",
                                              "enum",    "pattern", "minLength",  "maxLength",   "minimum",
                                              "maximum", "items",   "maxItems",   "description", "title",
                                              "default", "examples"};

Status check_subset_at(const json& schema, const std::string& where) {
  if (!schema.is_object()) return Error{"bad_schema", where + ": a schema must be an object"};
  for (const auto& [keyword, value] : schema.items()) {
    if (!kKnownKeywords.count(keyword))
      return Error{"bad_schema", where + ": keyword \"" + keyword + "\" is not supported"};
  }
  if (schema.contains("properties")) {
    for (const auto& [name, sub] : schema["properties"].items()) {
      if (auto s = check_subset_at(sub, where + "." + name); !s) return s;
    }
  }
  if (schema.contains("items")) return check_subset_at(schema["items"], where + "[]");
  return ok_status();
}

}  // namespace

Status validate_json(const json& schema, const json& value) { return validate_at(schema, value, ""); }

Status check_schema_subset(const json& schema) { return check_subset_at(schema, "schema"); }

}  // namespace agentron
