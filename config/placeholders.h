// {release}, {port}, {data_dir} and {instance_id} in command, working_dir, env values
// (and later health.url). "{{" and "}}" stand for literal braces.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace agentron {

struct PlaceholderValues {
  std::string release;
  std::string port;
  std::string data_dir;
  std::string instance_id;
};

// Nullopt if `text` is well formed; otherwise what is wrong with it, for a config error.
std::optional<std::string> check_placeholders(std::string_view text);

// REQUIRES: check_placeholders(text) is nullopt.
std::string expand_placeholders(std::string_view text, const PlaceholderValues& values);

}  // namespace agentron
