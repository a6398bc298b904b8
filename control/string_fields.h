// Reads a flat JSON object whose fields are all strings — a control request, a restart
// request — checking each field's presence and type once, so no caller reaches for
// nlohmann's value()/get(), which throw on a field of the wrong type.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.h"

namespace agentron {

struct FieldSpec {
  const char* name;
  bool required;  // present and not empty
};

// The fields of `object` by name, those not given as "". Fails, naming the field,
// on: not an object, a key not in `fields` (the error lists the known ones), a value
// that is not a string, a required field missing or empty. `ignored` keys (e.g.
// "method") are allowed and skipped. `what` starts each message ("stop request").
Result<std::map<std::string, std::string>> read_string_fields(const nlohmann::json& object,
                                                              const std::vector<FieldSpec>& fields,
                                                              const std::string& what,
                                                              const std::vector<std::string>& ignored = {});

// "a number", "an array", ...: for messages that say what was sent instead.
std::string describe_json_type(const nlohmann::json& value);

}  // namespace agentron
