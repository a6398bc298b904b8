// Durations as operators write them in the config: "50us", "250ms", "10s", "5m", "1h", "1.5s".
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace agentron {

using Duration = std::chrono::nanoseconds;

// Parses "<number><unit>" with unit us, ms, s, m or h. Returns nullopt on anything else
// (no unit, negative, unknown unit, trailing garbage).
std::optional<Duration> parse_duration(std::string_view text);

// The shortest exact spelling of d in the config syntax ("50us", "100ms", "30s", "5m").
std::string format_duration(Duration d);

// Sizes as operators write them: "10MiB", "512KiB", "1GiB", "4096" (bytes).
std::optional<std::uint64_t> parse_size(std::string_view text);
std::string format_size(std::uint64_t bytes);

}  // namespace agentron
