#include "config/placeholders.h"

namespace agentron {
namespace {

constexpr std::string_view kNames[] = {"release", "port", "data_dir", "instance_id"};

const std::string* lookup(std::string_view name, const PlaceholderValues& v) {
  if (name == "release") return &v.release;
  if (name == "port") return &v.port;
  if (name == "data_dir") return &v.data_dir;
  if (name == "instance_id") return &v.instance_id;
  return nullptr;
}

// Walks `text`, calling literal(piece) and placeholder(name); stops with an error
// message at the first malformed brace.
template <typename OnLiteral, typename OnPlaceholder>
std::optional<std::string> walk(std::string_view text, OnLiteral literal, OnPlaceholder placeholder) {
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if ((c == '{' || c == '}') && i + 1 < text.size() && text[i + 1] == c) {
      literal(std::string_view(&text[i], 1));
      i += 2;
    } else if (c == '{') {
      size_t close = text.find('}', i);
      if (close == std::string_view::npos) return "unclosed '{' (write '{{' for a literal brace)";
      std::string_view name = text.substr(i + 1, close - i - 1);
      bool known = false;
      for (auto n : kNames) known = known || n == name;
      if (!known) {
        return "unknown placeholder {" + std::string(name) + "}; known: {release}, {port}, {data_dir}, {instance_id}";
      }
      placeholder(name);
      i = close + 1;
    } else if (c == '}') {
      return "stray '}' (write '}}' for a literal brace)";
    } else {
      size_t next = text.find_first_of("{}", i);
      if (next == std::string_view::npos) next = text.size();
      literal(text.substr(i, next - i));
      i = next;
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> check_placeholders(std::string_view text) {
  return walk(
      text, [](std::string_view) {}, [](std::string_view) {});
}

std::string expand_placeholders(std::string_view text, const PlaceholderValues& values) {
  std::string out;
  walk(
      text, [&](std::string_view piece) { out += piece; },
      [&](std::string_view name) { out += *lookup(name, values); });
  return out;
}

}  // namespace agentron
