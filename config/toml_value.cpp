#include "config/toml_value.h"

#include <cstdio>
#include <sstream>

namespace agentron {

std::string toml_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\')
      out += '\\', out += c;
    else if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else
      out += c;
  }
  return out + "\"";
}

std::string toml_array(const std::vector<std::string>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + toml_string(values[i]);
  return out + "]";
}

std::string toml_table(const std::map<std::string, std::string>& map) {
  std::string out = "{";
  for (const auto& [key, value] : map) out += (out.size() == 1 ? " " : ", ") + key + " = " + toml_string(value);
  return out + (map.empty() ? "}" : " }");
}

std::string toml_number(double value) {
  std::ostringstream out;  // the stream's default format: 2 rather than 2.000000
  out << value;
  return out.str();
}

std::string toml_bool(bool value) { return value ? "true" : "false"; }

}  // namespace agentron
