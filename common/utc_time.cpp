#include "common/utc_time.h"

#include <cstdio>
#include <ctime>

namespace agentron {

std::string format_utc(WallClock::time_point t, const char* format) {
  std::time_t seconds = WallClock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, format, &tm);
  return std::string(buf, n);
}

std::string utc_iso8601_ms(WallClock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03lld", static_cast<long long>(ms < 0 ? ms + 1000 : ms));
  return format_utc(t, "%Y-%m-%dT%H:%M:%S") + frac + "Z";
}

}  // namespace agentron
