#include "common/duration.h"

#include <charconv>
#include <cmath>
#include <cstdint>

namespace agentron {
namespace {

// Splits "12.5ms" into 12.5 and "ms". Returns false if there is no leading number.
bool split_number(std::string_view text, double& number, std::string_view& unit) {
  const char* begin = text.data();
  const char* end = begin + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, number);
  if (ec != std::errc() || !std::isfinite(number) || number < 0) return false;
  unit = std::string_view(ptr, static_cast<size_t>(end - ptr));
  return true;
}

}  // namespace

std::optional<Duration> parse_duration(std::string_view text) {
  double number = 0;
  std::string_view unit;
  if (!split_number(text, number, unit)) return std::nullopt;
  double ns_per_unit = 0;
  if (unit == "us")
    ns_per_unit = 1e3;
  else if (unit == "ms")
    ns_per_unit = 1e6;
  else if (unit == "s")
    ns_per_unit = 1e9;
  else if (unit == "m")
    ns_per_unit = 60e9;
  else if (unit == "h")
    ns_per_unit = 3600e9;
  else
    return std::nullopt;
  double ns = number * ns_per_unit;
  if (ns > 1e18) return std::nullopt;  // beyond ~31 years: certainly a typo
  return Duration(static_cast<std::int64_t>(std::llround(ns)));
}

std::string format_duration(Duration d) {
  using namespace std::chrono;
  auto ns = d.count();
  if (ns % 3600'000'000'000LL == 0 && ns != 0) return std::to_string(ns / 3600'000'000'000LL) + "h";
  if (ns % 60'000'000'000LL == 0 && ns != 0) return std::to_string(ns / 60'000'000'000LL) + "m";
  if (ns % 1'000'000'000LL == 0) return std::to_string(ns / 1'000'000'000LL) + "s";
  if (ns % 1'000'000LL == 0) return std::to_string(ns / 1'000'000LL) + "ms";
  if (ns % 1'000LL == 0) return std::to_string(ns / 1'000LL) + "us";
  return std::to_string(static_cast<double>(ns) / 1e6) + "ms";
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
  double number = 0;
  std::string_view unit;
  if (!split_number(text, number, unit)) return std::nullopt;
  double factor = 0;
  if (unit.empty() || unit == "B")
    factor = 1;
  else if (unit == "KiB")
    factor = 1024.0;
  else if (unit == "MiB")
    factor = 1024.0 * 1024;
  else if (unit == "GiB")
    factor = 1024.0 * 1024 * 1024;
  else
    return std::nullopt;
  double bytes = number * factor;
  if (bytes > 1e18) return std::nullopt;
  return static_cast<std::uint64_t>(std::llround(bytes));
}

std::string format_size(std::uint64_t bytes) {
  constexpr std::uint64_t kKiB = 1024, kMiB = kKiB * 1024, kGiB = kMiB * 1024;
  if (bytes != 0 && bytes % kGiB == 0) return std::to_string(bytes / kGiB) + "GiB";
  if (bytes != 0 && bytes % kMiB == 0) return std::to_string(bytes / kMiB) + "MiB";
  if (bytes != 0 && bytes % kKiB == 0) return std::to_string(bytes / kKiB) + "KiB";
  return std::to_string(bytes);
}

}  // namespace agentron
