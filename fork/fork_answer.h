// Reading agentron-fork's --json answer, for the programs that run it (the supervisor
// builds releases with it). One object: {"ok":true,"data":{...}} or
// {"ok":false,"error":{"code":"...","message":"..."}} (codes: fork/fork_errors.h).
// Header-only, so a reader needs no libgit2.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/result.h"

namespace agentron {

// The answer's data object, or its error. Anything else — not JSON, fields of the
// wrong type — is an Error with `fallback_code` and a message saying what came.
inline Result<nlohmann::json> read_fork_answer(const std::string& text, const std::string& fallback_code) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j["ok"].is_boolean()) {
    return Error{fallback_code, "agentron-fork gave no JSON answer"};
  }
  if (j["ok"].get<bool>()) {
    if (!j["data"].is_object()) return Error{fallback_code, "agentron-fork answered ok without data"};
    return j["data"];
  }
  const auto& e = j["error"];
  if (!e.is_object() || !e["code"].is_string() || !e["message"].is_string()) {
    return Error{fallback_code, "agentron-fork failed without saying why"};
  }
  return Error{e["code"].get<std::string>(), e["message"].get<std::string>()};
}

// A string field of an answer's data, or "" when absent or not a string.
inline std::string answer_string(const nlohmann::json& data, const char* key) {
  auto it = data.find(key);
  return it != data.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace agentron
