// Small helpers for HTTP header values (RFC 9110): header names and many values (media
// types, schemes) compare without case, and values may carry optional whitespace (OWS).
#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

namespace agentron::header_text {

// `text` with A-Z made a-z.
inline std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// `text` without the spaces and tabs around it.
inline std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace agentron::header_text
