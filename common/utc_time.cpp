#include "common/utc_time.h"

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

}  // namespace agentron
