#include "common/duration.h"

#include <catch2/catch.hpp>

using namespace agentron;
using namespace std::chrono_literals;

TEST_CASE("durations parse in us, ms, s, m and h", "[duration]") {
  CHECK(parse_duration("50us") == 50us);
  CHECK(parse_duration("250ms") == 250ms);
  CHECK(parse_duration("10s") == 10s);
  CHECK(parse_duration("5m") == 5min);
  CHECK(parse_duration("1h") == 1h);
  CHECK(parse_duration("1.5s") == 1500ms);
  CHECK(parse_duration("0s") == 0s);
}

TEST_CASE("malformed durations are rejected", "[duration]") {
  for (const char* bad : {"", "10", "s", "-1s", "10 s", "10sec", "1e400s", "abc", "5d"}) {
    INFO(bad);
    CHECK_FALSE(parse_duration(bad).has_value());
  }
}

TEST_CASE("durations format back to their shortest exact spelling", "[duration]") {
  CHECK(format_duration(100ms) == "100ms");
  CHECK(format_duration(50us) == "50us");
  CHECK(format_duration(1500us) == "1500us");
  CHECK(format_duration(30s) == "30s");
  CHECK(format_duration(5min) == "5m");
  CHECK(format_duration(2h) == "2h");
  CHECK(format_duration(0s) == "0s");
  CHECK(format_duration(90s) == "90s");
}

TEST_CASE("sizes parse with binary units", "[duration]") {
  CHECK(parse_size("10MiB") == 10u * 1024 * 1024);
  CHECK(parse_size("512KiB") == 512u * 1024);
  CHECK(parse_size("4096") == 4096u);
  CHECK_FALSE(parse_size("10MB").has_value());
  CHECK(format_size(10u * 1024 * 1024) == "10MiB");
  CHECK(format_size(1000) == "1000");
}
