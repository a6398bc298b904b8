#include "backup/retention.h"

#include <catch2/catch.hpp>

using namespace agentron;
using namespace std::chrono_literals;

namespace {

// A fixed "now": 2026-11-27T12:00:00Z. Snapshots are placed by hours before it.
std::chrono::system_clock::time_point at_hours_ago(int hours) {
  return std::chrono::system_clock::from_time_t(1795780800) - std::chrono::hours(hours);
}

std::vector<std::string> kept(const std::vector<RetentionDecision>& decisions) {
  std::vector<std::string> names;
  for (const auto& d : decisions) {
    if (d.keep) names.push_back(d.name);
  }
  return names;
}

std::vector<RetentionCandidate> every_6_hours_for_days(int days) {
  std::vector<RetentionCandidate> c;
  for (int h = days * 24 - 6; h >= 0; h -= 6)
    c.push_back({"s" + std::to_string(h), at_hours_ago(h), std::nullopt, false});
  return c;  // oldest first
}

}  // namespace

TEST_CASE("keep_last keeps the newest N", "[retention]") {
  auto c = every_6_hours_for_days(2);  // 8 snapshots: s42 … s0
  auto d = plan_retention(c, {3, 0, 0, 0});
  CHECK(kept(d) == std::vector<std::string>{"s12", "s6", "s0"});
  CHECK(d.back().reason == "last 3");
  CHECK(d.front().reason == "beyond the retention policy");
}

TEST_CASE("keep_daily keeps the newest snapshot of each of the last N days", "[retention]") {
  auto c = every_6_hours_for_days(5);  // 2026-11-22T18Z … 2026-11-27T12Z
  auto d = plan_retention(c, {1, 3, 0, 0});
  // Newest of 11-27 (s0), 11-26 (s18: 18:00), 11-25 (s42).
  CHECK(kept(d) == std::vector<std::string>{"s42", "s18", "s0"});
  for (const auto& decision : d) {
    if (decision.name == "s18") CHECK(decision.reason == "daily 2026-11-26");
    if (decision.name == "s0") CHECK(decision.reason == "last 1, daily 2026-11-27");
  }
}

TEST_CASE("weekly and monthly count calendar periods that have snapshots", "[retention]") {
  std::vector<RetentionCandidate> c;
  for (int day = 70; day >= 0; day -= 7)
    c.push_back({"d" + std::to_string(day), at_hours_ago(day * 24), std::nullopt, false});
  auto d = plan_retention(c, {1, 0, 2, 2});
  // 2 weeks: d0, d7. 2 months (Nov, Oct): d0 (Nov, newest), d28 is 2026-10-30 (Oct newest).
  CHECK(kept(d) == std::vector<std::string>{"d28", "d7", "d0"});
}

TEST_CASE("the newest verified snapshot is never pruned", "[retention]") {
  auto c = every_6_hours_for_days(2);
  c[1].verified = true;   // s36
  c[2].verified = false;  // s30: verified and failed
  auto d = plan_retention(c, {2, 0, 0, 0});
  CHECK(kept(d) == std::vector<std::string>{"s36", "s6", "s0"});
  CHECK(d[1].reason == "newest verified");
}

TEST_CASE("a snapshot pinned by an unfinished handover is never pruned", "[retention]") {
  auto c = every_6_hours_for_days(2);
  c[0].pinned = true;
  auto d = plan_retention(c, {1, 0, 0, 0});
  CHECK(kept(d) == std::vector<std::string>{"s42", "s0"});
  CHECK(d[0].reason == "pinned by an unfinished handover");
}

TEST_CASE("no snapshots, no decisions", "[retention]") { CHECK(plan_retention({}, {}).empty()); }
