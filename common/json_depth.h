// How deeply a JSON text nests, found without parsing it: a body from outside (a
// request, a record the app wrote) is refused before nlohmann::json builds it, whose
// copy and comparison recurse once per level — a few hundred thousand levels in a
// 256 KiB body overflow the stack (the red team's crash, docs/security.md).
#pragma once

#include <string_view>

namespace agentron {

// Levels of [ and { at their deepest, strings skipped; 0 for a scalar. Counts what a
// parser would, for valid JSON; for text that is not JSON, some count the parser then
// refuses anyway.
int json_nesting(std::string_view text);

// What the supervisor accepts from outside: far more than any request or record needs.
inline constexpr int kMaxJsonNesting = 64;

}  // namespace agentron
