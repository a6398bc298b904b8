// Parsing a config in a test: "test.toml", relative paths resolving against /etc/agentron.
#pragma once

#include <string>

#include "config/config.h"

namespace agentron::testing {

inline ConfigResult parse(const std::string& text) { return parse_config(text, "test.toml", "/etc/agentron"); }

// Every error as "file:line:column: message", a line each; "" when there is none.
inline std::string all_errors(const ConfigResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += e.to_string() + "\n";
  return out;
}

}  // namespace agentron::testing
