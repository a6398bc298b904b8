#include "control/string_fields.h"

#include <algorithm>

namespace agentron {
namespace {

std::string list_names(const std::vector<FieldSpec>& fields) {
  if (fields.empty()) return "no fields";
  std::string names;
  for (const auto& f : fields) names += (names.empty() ? "" : ", ") + std::string(f.name);
  return names;
}

}  // namespace

std::string describe_json_type(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::object: return "an object";
    case nlohmann::json::value_t::array: return "an array";
    case nlohmann::json::value_t::string: return "a string";
    case nlohmann::json::value_t::boolean: return "a boolean";
    case nlohmann::json::value_t::binary: return "binary data";
    case nlohmann::json::value_t::discarded: return "not JSON";
    default: return "a number";
  }
}

Result<std::map<std::string, std::string>> read_string_fields(const nlohmann::json& object,
                                                              const std::vector<FieldSpec>& fields,
                                                              const std::string& what,
                                                              const std::vector<std::string>& ignored) {
  auto bad = [&](const std::string& message) { return Error{"bad_request", what + ": " + message}; };
  if (!object.is_object()) return bad("expected a JSON object, got " + describe_json_type(object));
  std::map<std::string, std::string> values;
  for (const auto& [key, value] : object.items()) {
    if (std::find(ignored.begin(), ignored.end(), key) != ignored.end()) continue;
    auto spec =
        std::find_if(fields.begin(), fields.end(), [&name = key](const FieldSpec& f) { return name == f.name; });
    if (spec == fields.end()) return bad("unknown field \"" + key + "\"; it takes " + list_names(fields));
    if (!value.is_string()) return bad("field \"" + key + "\" must be a string, got " + describe_json_type(value));
    values[key] = value.get<std::string>();
  }
  for (const auto& f : fields) {
    if (f.required && values[f.name].empty()) return bad("missing field \"" + std::string(f.name) + "\"");
  }
  return values;
}

}  // namespace agentron
