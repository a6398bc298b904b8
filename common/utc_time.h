// UTC timestamps as the project writes them everywhere: in manifests, records and
// folder names.
#pragma once

#include <chrono>
#include <string>

namespace agentron {

using WallClock = std::chrono::system_clock;

// strftime of `t` in UTC with `format`.
std::string format_utc(WallClock::time_point t, const char* format);
// "2026-11-27T05:01:02Z"
inline std::string utc_iso8601(WallClock::time_point t) { return format_utc(t, "%Y-%m-%dT%H:%M:%SZ"); }
// "20261127T050102Z": for folder names (no ':').
inline std::string utc_compact(WallClock::time_point t) { return format_utc(t, "%Y%m%dT%H%M%SZ"); }
// "2026-11-27T05:01:02.345Z": sorts as text in time order, to the millisecond.
std::string utc_iso8601_ms(WallClock::time_point t);
inline std::string utc_now_iso8601() { return utc_iso8601(WallClock::now()); }
inline std::string utc_now_compact() { return utc_compact(WallClock::now()); }

}  // namespace agentron
