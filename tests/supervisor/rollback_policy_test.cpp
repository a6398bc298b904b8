#include "supervisor/rollback_policy.h"

#include <catch2/catch.hpp>

#include "common/fake_clock.h"

namespace agentron {
using namespace std::chrono_literals;

namespace {
const Counts kBaseline{{"agents", 3}, {"runs", 5}};

NewInstance seen(Counts counts, std::string integrity = "ok", std::string unverified = "") {
  return NewInstance{"new", std::move(counts), std::move(integrity), "/logs", std::move(unverified)};
}
}  // namespace

TEST_CASE("a new instance that sees every row, or more, is accepted") {
  CHECK(judge_new_instance(seen(kBaseline), kBaseline).accept);
  CHECK(judge_new_instance(seen({{"agents", 4}, {"runs", 9}, {"extra", 1}}), kBaseline).accept);
}

TEST_CASE("a new instance that lost rows is refused, and the rows are to be put back") {
  Verdict v = judge_new_instance(seen({{"agents", 3}, {"runs", 2}}), kBaseline);
  CHECK_FALSE(v.accept);
  CHECK(v.damage == HandoverDamage::rows_lost);
  CHECK(v.reason == "the new instance sees fewer rows than before: runs dropped from 5 to 2");
  CHECK(judge_new_instance(seen({{"agents", 3}}), kBaseline).reason ==
        "the new instance sees fewer rows than before: runs missing from the new instance's record");
}

TEST_CASE("a damaged database outranks a failed verification and lost rows") {
  Verdict v = judge_new_instance(seen({{"agents", 0}}, "Page 4: btree page corrupt", "integrity failed"), kBaseline);
  CHECK_FALSE(v.accept);
  CHECK(v.damage == HandoverDamage::integrity);
  CHECK(v.reason == "the new instance's integrity check failed: Page 4: btree page corrupt");
}

TEST_CASE("a record that failed verification is refused with nothing to repair") {
  Verdict v = judge_new_instance(seen(kBaseline, "ok", "data_dir is /elsewhere, not the pinned one"), kBaseline);
  CHECK_FALSE(v.accept);
  CHECK(v.damage == HandoverDamage::none);
  CHECK(v.reason == "the new instance was not verified: data_dir is /elsewhere, not the pinned one");
}

TEST_CASE("a record without an integrity result is not taken as damage") {
  Verdict v = judge_new_instance(seen(kBaseline, ""), kBaseline);
  CHECK_FALSE(v.accept);
  CHECK(v.damage == HandoverDamage::none);
}

TEST_CASE("a crash within probation of the switch switches back, once") {
  FakeClock clock;
  Probation probation(clock);
  probation.start(30s);
  clock.advance(29s);
  CHECK(probation.crash_switches_back());
  CHECK_FALSE(probation.crash_switches_back());  // the switch-back is under way: not twice
}

TEST_CASE("a crash after probation, or with none, is a plain crash") {
  FakeClock clock;
  Probation probation(clock);
  CHECK_FALSE(probation.crash_switches_back());  // no switch yet
  probation.start(30s);
  clock.advance(30s);
  CHECK_FALSE(probation.crash_switches_back());
  probation.start(0s);
  CHECK_FALSE(probation.crash_switches_back());
}

TEST_CASE("a new handover ends probation") {
  FakeClock clock;
  Probation probation(clock);
  probation.start(30s);
  clock.advance(1s);
  probation.end();
  CHECK_FALSE(probation.crash_switches_back());
}

}  // namespace agentron
