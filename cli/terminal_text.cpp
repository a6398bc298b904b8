#include "cli/terminal_text.h"

#include <cstdio>

namespace agentron {

std::string printable(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    bool c1 = c == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
              static_cast<unsigned char>(text[i + 1]) <= 0x9f;
    if (c < 0x20 || c == 0x7f || c1) {
      unsigned char shown = c1 ? static_cast<unsigned char>(text[++i]) : c;
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", shown);
      out += hex;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace agentron
