// Checking a tool's JSON input against its JSON Schema (2020-12) before anything runs.
// Only the keywords the tool catalog uses are understood — type (object, string,
// integer, boolean, array), properties, required, additionalProperties: false, enum,
// pattern (ECMAScript), minLength, maxLength, minimum, maximum, items, maxItems — and
// a schema using any other keyword is refused by check_schema_subset, so a schema
// never silently means less here than it says (tests/api/json_schema_test.cpp; the
// integration tests check the catalog with python3-jsonschema, which knows all of it).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/result.h"

namespace agentron {

// ok, or an Error (code "bad_input") whose message names the field: `branch: must
// match ^...$`, `paths[2]: must not ...`, `unknown field "x"`.
Status validate_json(const nlohmann::json& schema, const nlohmann::json& value);

// ok if `schema` uses only the keywords above (and description/title/default/examples).
Status check_schema_subset(const nlohmann::json& schema);

}  // namespace agentron
