#include "supervisor/restart_policy.h"

#include <catch2/catch.hpp>

#include "common/fake_clock.h"

using namespace agentron;
using namespace std::chrono_literals;
using Kind = RestartDecision::Kind;

namespace {

RestartConfig config() {
  RestartConfig c;
  c.policy = RestartPolicyKind::on_failure;
  c.backoff_initial = 100ms;
  c.backoff_factor = 2.0;
  c.backoff_max = 1s;
  c.max_restarts = 100;
  c.restart_window = 60s;
  c.stable_after = 30s;
  return c;
}

}  // namespace

TEST_CASE("backoff grows by the factor up to the maximum", "[restart_policy]") {
  FakeClock clock;
  RestartPolicy policy(config());
  std::vector<Duration> delays;
  for (int i = 0; i < 6; ++i) {
    auto d = policy.on_exit(clock.now(), 1s, "crash", false);
    REQUIRE(d.kind == Kind::restart);
    delays.push_back(d.delay);
    clock.advance(2s);
  }
  CHECK(delays == std::vector<Duration>{100ms, 200ms, 400ms, 800ms, 1s, 1s});
  CHECK(policy.total_restarts() == 6);
}

TEST_CASE("a run as long as stable_after resets the backoff", "[restart_policy]") {
  FakeClock clock;
  RestartPolicy policy(config());
  policy.on_exit(clock.now(), 1s, "crash", false);
  policy.on_exit(clock.now(), 1s, "crash", false);
  CHECK(policy.on_exit(clock.now(), 1s, "crash", false).delay == 400ms);
  clock.advance(30s);
  CHECK(policy.on_exit(clock.now(), 29s, "crash", false).delay == 800ms);  // not quite stable
  clock.advance(30s);
  CHECK(policy.on_exit(clock.now(), 30s, "crash", false).delay == 100ms);  // stable: back to the start
  CHECK(policy.on_exit(clock.now(), 1s, "crash", false).delay == 200ms);
}

TEST_CASE("more than max_restarts within the window gives up", "[restart_policy]") {
  FakeClock clock;
  RestartConfig c = config();
  c.max_restarts = 3;
  c.restart_window = 10s;
  RestartPolicy policy(c);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(policy.on_exit(clock.now(), 100ms, "crash", false).kind == Kind::restart);
    clock.advance(1s);
  }
  auto d = policy.on_exit(clock.now(), 100ms, "instance x exit code 3", false);
  CHECK(d.kind == Kind::give_up);
  CHECK(d.reason == "instance x exit code 3 after 3 restarts within 10s ([restart] max_restarts = 3)");
}

TEST_CASE("restarts older than the window no longer count", "[restart_policy]") {
  FakeClock clock;
  RestartConfig c = config();
  c.max_restarts = 2;
  c.restart_window = 10s;
  RestartPolicy policy(c);
  REQUIRE(policy.on_exit(clock.now(), 1s, "crash", false).kind == Kind::restart);
  clock.advance(6s);
  REQUIRE(policy.on_exit(clock.now(), 1s, "crash", false).kind == Kind::restart);
  clock.advance(5s);  // the first restart is now 11 s old
  CHECK(policy.on_exit(clock.now(), 1s, "crash", false).kind == Kind::restart);
  clock.advance(1s);
  CHECK(policy.on_exit(clock.now(), 1s, "crash", false).kind == Kind::give_up);
}

TEST_CASE("max_restarts = 0 gives up at the first crash", "[restart_policy]") {
  FakeClock clock;
  RestartConfig c = config();
  c.max_restarts = 0;
  RestartPolicy policy(c);
  CHECK(policy.on_exit(clock.now(), 1s, "crash", false).kind == Kind::give_up);
}

TEST_CASE("on-failure does not restart a clean exit; always does; never never does", "[restart_policy]") {
  FakeClock clock;
  RestartConfig c = config();
  RestartPolicy on_failure(c);
  auto d = on_failure.on_exit(clock.now(), 1s, "instance x exit code 0", true);
  CHECK(d.kind == Kind::stay_stopped);
  CHECK(d.reason == "instance x exit code 0 (a clean exit); [restart] policy is on-failure");

  c.policy = RestartPolicyKind::always;
  RestartPolicy always(c);
  CHECK(always.on_exit(clock.now(), 1s, "clean", true).kind == Kind::restart);

  c.policy = RestartPolicyKind::never;
  RestartPolicy never(c);
  CHECK(never.on_exit(clock.now(), 1s, "crash", false).kind == Kind::stay_stopped);
}

TEST_CASE("reset forgets the restart history", "[restart_policy]") {
  FakeClock clock;
  RestartConfig c = config();
  c.max_restarts = 1;
  RestartPolicy policy(c);
  REQUIRE(policy.on_exit(clock.now(), 1s, "crash", false).kind == Kind::restart);
  REQUIRE(policy.on_exit(clock.now(), 1s, "crash", false).kind == Kind::give_up);
  policy.reset();
  auto d = policy.on_exit(clock.now(), 1s, "crash", false);
  CHECK(d.kind == Kind::restart);
  CHECK(d.delay == 100ms);
}
