// Values as TOML text, the way the effective config (`config check`) prints them.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace agentron {

std::string toml_string(std::string_view text);                         // "…", escaped
std::string toml_array(const std::vector<std::string>& values);         // ["a", "b"]
std::string toml_table(const std::map<std::string, std::string>& map);  // { K = "v" }, or {} when empty
std::string toml_number(double value);                                  // 2, 1.5
std::string toml_bool(bool value);

}  // namespace agentron
