#include "healthcheck/readiness_waiter.h"

#include <catch2/catch.hpp>
#include <optional>

#include "common/fake_clock.h"
#include "tests/healthcheck/fake_probe.h"

using namespace agentron;
using namespace agentron::testing;
using namespace std::chrono_literals;

namespace {

struct Fixture {
  ReadinessWaiter& start(Duration interval = 250ms, Duration timeout = 2s) {
    waiter.emplace(clock, std::make_unique<FakeProbe>(log), interval, timeout, [this](Status s) {
      ++calls;
      result = std::move(s);
    });
    return *waiter;
  }
  FakeClock clock;
  std::shared_ptr<ProbeLog> log = std::make_shared<ProbeLog>();
  std::optional<ReadinessWaiter> waiter;
  std::optional<Status> result;
  int calls = 0;
};

Error refused() { return Error{"probe_failed", "connection refused"}; }

}  // namespace

TEST_CASE("the first try starts at once and a pass is ready", "[readiness]") {
  Fixture f;
  f.start();
  CHECK(f.log->tries == 1);
  REQUIRE(f.log->answer(ok_status()));
  REQUIRE(f.result);
  CHECK(f.result->ok());
  CHECK(f.clock.pending() == 0);  // the deadline is gone with it
}

TEST_CASE("failed tries repeat every interval, never overlapping", "[readiness]") {
  Fixture f;
  f.start(250ms, 10s);
  f.clock.advance(1s);  // the first try has not answered: no second one meanwhile
  CHECK(f.log->tries == 1);
  f.log->answer(refused());
  f.clock.advance(249ms);
  CHECK(f.log->tries == 1);
  f.clock.advance(1ms);
  CHECK(f.log->tries == 2);
  f.log->answer(refused());
  f.clock.advance(250ms);
  CHECK(f.log->tries == 3);
  f.log->answer(ok_status());
  REQUIRE(f.result);
  CHECK(f.result->ok());
  CHECK(f.calls == 1);
}

TEST_CASE("not ready by the timeout fails with the last try's reason", "[readiness]") {
  Fixture f;
  f.start(250ms, 1s);
  for (int i = 0; i < 3; ++i) {
    f.log->answer(refused());
    f.clock.advance(250ms);
  }
  f.clock.advance(249ms);
  CHECK_FALSE(f.result);
  f.clock.advance(1ms);
  REQUIRE(f.result);
  REQUIRE_FALSE(f.result->ok());
  CHECK(f.result->error().code == "not_ready");
  CHECK(f.result->error().message == "not ready after 1s (4 tries; last try: connection refused)");
  // A try still in flight answers late: not heard, nothing more happens.
  f.log->answer(ok_status());
  f.clock.advance(10s);
  CHECK(f.calls == 1);
  CHECK(f.log->tries == 4);
}

TEST_CASE("destroying the waiter cancels it and its probe", "[readiness]") {
  Fixture f;
  f.start();
  f.waiter.reset();
  CHECK(f.log->destroyed);
  f.clock.advance(1min);
  CHECK(f.calls == 0);
  CHECK(f.clock.pending() == 0);
}
