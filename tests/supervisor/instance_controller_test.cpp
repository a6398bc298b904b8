#include "supervisor/instance_controller.h"

#include <catch2/catch.hpp>

#include "common/fake_clock.h"
#include "tests/healthcheck/fake_probe.h"
#include "tests/supervisor/fake_process.h"

using namespace agentron;
using namespace agentron::testing;
using namespace std::chrono_literals;

namespace {

struct Fixture {
  explicit Fixture(RestartConfig restart = defaults())
      : controller(
            clock, spawner,
            [](const std::string& id) {
              return SpawnSpec{{"app", id}, "/", {}, {}, {}, 0, 0, "", ""};
            },
            [this] { return "i-" + std::to_string(++ids); }, restart, StopSettings{SIGTERM, 10s}) {
    controller.on_change = [this](const InstanceStatus& s) { states.push_back(s.state); };
  }

  static RestartConfig defaults() {
    RestartConfig c;
    c.backoff_initial = 100ms;
    c.backoff_factor = 2.0;
    c.backoff_max = 30s;
    c.max_restarts = 5;
    c.restart_window = 60s;
    c.stable_after = 30s;
    return c;
  }

  InstanceState state() const { return controller.status().state; }

  FakeClock clock;
  FakeSpawner spawner;
  int ids = 0;
  std::vector<InstanceState> states;
  InstanceController controller;
};

}  // namespace

TEST_CASE("start runs one instance", "[instance_controller]") {
  Fixture f;
  f.controller.start();
  REQUIRE(f.spawner.specs.size() == 1);
  auto s = f.controller.status();
  CHECK(s.state == InstanceState::ready);
  CHECK(s.pid == 1000);
  CHECK(s.instance_id == "i-1");
  CHECK(s.started_at == f.clock.wall_now());  // the time of day comes from the Clock too
  f.clock.advance(5s);
  CHECK(f.controller.status().uptime == 5s);
}

TEST_CASE("a crash restarts after the backoff, growing each time", "[instance_controller]") {
  Fixture f;
  f.controller.start();
  std::vector<Duration> waits;
  for (int crash = 0; crash < 4; ++crash) {
    f.spawner.last->exit(ExitStatus::killed(SIGKILL));
    REQUIRE(f.state() == InstanceState::backoff);
    waits.push_back(f.controller.status().next_restart_in);
    size_t before = f.spawner.specs.size();
    f.clock.advance(waits.back() - 1ms);
    CHECK(f.spawner.specs.size() == before);  // not a moment early
    f.clock.advance(1ms);
    CHECK(f.spawner.specs.size() == before + 1);
    CHECK(f.state() == InstanceState::ready);
  }
  CHECK(waits == std::vector<Duration>{100ms, 200ms, 400ms, 800ms});
  auto s = f.controller.status();
  CHECK(s.restart_count == 4);
  CHECK(s.instance_id == "i-5");
  REQUIRE(s.last_exit.has_value());
  CHECK(s.last_exit->describe() == "killed by SIGKILL");
}

TEST_CASE("uptime of stable_after resets the backoff", "[instance_controller]") {
  Fixture f;
  f.controller.start();
  for (int i = 0; i < 3; ++i) {
    f.spawner.last->exit(ExitStatus::exited(1));
    f.clock.advance(f.controller.status().next_restart_in);
  }
  f.clock.advance(30s);  // this instance has now been up for stable_after
  f.spawner.last->exit(ExitStatus::exited(1));
  CHECK(f.controller.status().next_restart_in == 100ms);
}

TEST_CASE("the restart cap leaves the app failed with a reason", "[instance_controller]") {
  Fixture f;
  f.controller.start();
  for (int i = 0; i < 5; ++i) {
    f.spawner.last->exit(ExitStatus::exited(3));
    REQUIRE(f.state() == InstanceState::backoff);
    f.clock.advance(f.controller.status().next_restart_in);
  }
  f.spawner.last->exit(ExitStatus::exited(3));
  auto s = f.controller.status();
  CHECK(s.state == InstanceState::failed);
  CHECK(s.reason == "instance i-6 exit code 3 after 5 restarts within 1m ([restart] max_restarts = 5)");
  CHECK(s.pid == 0);
  f.clock.advance(10min);
  CHECK(f.spawner.specs.size() == 6);  // it stays stopped
  CHECK(f.clock.pending() == 0);

  f.controller.start();  // an operator starts it again: a fresh policy
  CHECK(f.state() == InstanceState::ready);
  CHECK(f.spawner.specs.size() == 7);
}

TEST_CASE("stop sends the stop signal, then SIGKILL after stop_timeout", "[instance_controller]") {
  Fixture f;
  f.controller.start();
  FakeProcess* p = f.spawner.last;
  bool done = false;
  f.controller.stop([&] { done = true; });
  CHECK(f.state() == InstanceState::stopping);
  CHECK(p->signals == std::vector<int>{SIGTERM});
  f.clock.advance(10s - 1ms);
  CHECK(p->signals == std::vector<int>{SIGTERM});
  f.clock.advance(1ms);
  CHECK(p->signals == std::vector<int>{SIGTERM, SIGKILL});
  CHECK_FALSE(done);
  p->exit(ExitStatus::killed(SIGKILL));
  CHECK(done);
  CHECK(f.state() == InstanceState::stopped);
  CHECK(f.spawner.specs.size() == 1);  // a requested stop is not a crash
  CHECK(f.clock.pending() == 0);
}

TEST_CASE("a graceful exit within stop_timeout needs no SIGKILL", "[instance_controller]") {
  Fixture f;
  f.controller.start();
  FakeProcess* p = f.spawner.last;
  bool done = false;
  f.controller.stop([&] { done = true; });
  f.clock.advance(50ms);
  p->exit(ExitStatus::exited(0));
  CHECK(done);
  f.clock.advance(1min);
  CHECK(p->signals == std::vector<int>{SIGTERM});
  CHECK(f.controller.status().reason == "stopped on request (exit code 0)");
}

TEST_CASE("a stop waits for leftover group members and kills them at the timeout", "[instance_controller]") {
  Fixture f;
  f.controller.start();
  FakeProcess* p = f.spawner.last;
  bool done = false;
  f.controller.stop([&] { done = true; });
  p->exit(ExitStatus::exited(0), /*leftovers=*/true);  // a grandchild ignores SIGTERM
  CHECK_FALSE(done);
  f.clock.advance(10s);
  CHECK(p->signals == std::vector<int>{SIGTERM, SIGKILL});
  p->leftovers_gone();
  CHECK(done);
}

TEST_CASE("a group that never empties after SIGKILL is given up on, bounded", "[instance_controller]") {
  Fixture f;
  f.controller.start();
  bool done = false;
  f.controller.stop([&] { done = true; });
  f.clock.advance(10s);
  f.clock.advance(InstanceController::kKillGrace);
  CHECK(done);
  CHECK(f.state() == InstanceState::stopped);
}

TEST_CASE("leftovers of a crash are stopped before the restart", "[instance_controller]") {
  Fixture f;
  f.controller.start();
  FakeProcess* p = f.spawner.last;
  p->exit(ExitStatus::exited(1), /*leftovers=*/true);
  CHECK(f.state() == InstanceState::stopping);
  CHECK(p->signals == std::vector<int>{SIGTERM});
  f.clock.advance(1s);
  CHECK(f.spawner.specs.size() == 1);  // no restart while the old group lives
  p->leftovers_gone();
  CHECK(f.state() == InstanceState::backoff);
  f.clock.advance(100ms);
  CHECK(f.spawner.specs.size() == 2);
}

TEST_CASE("stop during backoff cancels the restart", "[instance_controller]") {
  Fixture f;
  f.controller.start();
  f.spawner.last->exit(ExitStatus::exited(1));
  bool done = false;
  f.controller.stop([&] { done = true; });
  CHECK(done);
  f.clock.advance(1min);
  CHECK(f.spawner.specs.size() == 1);
  CHECK(f.state() == InstanceState::stopped);
}

TEST_CASE("a program that cannot start is retried, then failed, with the reason", "[instance_controller]") {
  Fixture f;
  f.spawner.fail_with = "cannot execute 'nope': No such file or directory";
  f.controller.start();
  CHECK(f.state() == InstanceState::backoff);
  CHECK(f.controller.status().reason == "start failed: cannot execute 'nope': No such file or directory");
  for (int i = 0; i < 10 && f.state() == InstanceState::backoff; ++i) f.clock.advance(1min);
  auto s = f.controller.status();
  CHECK(s.state == InstanceState::failed);
  CHECK_THAT(s.reason,
             Catch::StartsWith("start failed: cannot execute 'nope': No such file or directory after 5 restarts"));
  CHECK(f.spawner.specs.size() == 6);
}

TEST_CASE("a clean exit under on-failure stays stopped", "[instance_controller]") {
  Fixture f;
  f.controller.start();
  f.spawner.last->exit(ExitStatus::exited(0));
  CHECK(f.state() == InstanceState::stopped);
  f.clock.advance(1min);
  CHECK(f.spawner.specs.size() == 1);
}

TEST_CASE("stop on a stopped app completes at once", "[instance_controller]") {
  Fixture f;
  bool done = false;
  f.controller.stop([&] { done = true; });
  CHECK(done);
}

namespace {

// A Fixture whose instances must pass a readiness probe the test answers.
struct ProbedFixture : Fixture {
  explicit ProbedFixture(Duration timeout = 5s) {
    controller.set_readiness([this](const std::string&) { return std::make_unique<FakeProbe>(log); },
                             ReadinessSettings{250ms, timeout});
  }
  std::shared_ptr<ProbeLog> log = std::make_shared<ProbeLog>();
};

}  // namespace

TEST_CASE("an instance is starting until its probe passes, then ready", "[instance_controller][readiness]") {
  ProbedFixture f;
  f.controller.start();
  CHECK(f.state() == InstanceState::starting);
  CHECK(f.controller.status().pid == 1000);
  f.log->answer(Error{"probe_failed", "answered 503"});
  f.clock.advance(250ms);
  CHECK(f.state() == InstanceState::starting);
  f.log->answer(ok_status());
  CHECK(f.state() == InstanceState::ready);
  CHECK(f.states == std::vector<InstanceState>{InstanceState::starting, InstanceState::ready});
}

TEST_CASE("not ready by the timeout: stopped gracefully, then restarted like a crash",
          "[instance_controller][readiness]") {
  ProbedFixture f(2s);
  f.controller.start();
  FakeProcess* p = f.spawner.last;
  for (int i = 0; i < 8; ++i) {
    f.log->answer(Error{"probe_failed", "connection refused"});
    f.clock.advance(250ms);
  }
  // Its exit status is 0 (it honoured SIGTERM), yet with policy on-failure it restarts.
  CHECK(f.state() == InstanceState::stopping);
  CHECK(p->signals == std::vector<int>{SIGTERM});
  CHECK_THAT(f.controller.status().reason, Catch::Contains("instance i-1 not ready after 2s"));
  p->exit(ExitStatus::exited(0));
  auto s = f.controller.status();
  CHECK(s.state == InstanceState::backoff);
  CHECK_THAT(s.reason, Catch::StartsWith("instance i-1 not ready after 2s (8 tries; last try: connection refused)"));
  f.clock.advance(s.next_restart_in);
  CHECK(f.spawner.specs.size() == 2);
  CHECK(f.state() == InstanceState::starting);
}

TEST_CASE("a crash while starting cancels the probe and restarts", "[instance_controller][readiness]") {
  ProbedFixture f;
  f.controller.start();
  f.spawner.last->exit(ExitStatus::exited(1));
  CHECK(f.state() == InstanceState::backoff);
  CHECK(f.log->destroyed);
  CHECK(f.log->pending.empty());
}

TEST_CASE("a stop while starting is a stop, not a readiness failure", "[instance_controller][readiness]") {
  ProbedFixture f;
  f.controller.start();
  bool done = false;
  f.controller.stop([&] { done = true; });
  CHECK(f.state() == InstanceState::stopping);
  CHECK(f.controller.status().reason == "stop requested");
  f.spawner.last->exit(ExitStatus::exited(0));
  CHECK(done);
  CHECK(f.state() == InstanceState::stopped);
  f.clock.advance(1min);
  CHECK(f.spawner.specs.size() == 1);
}

TEST_CASE("an adopted instance is ready at once and restarted like any other", "[instance_controller]") {
  Fixture f;
  REQUIRE(f.controller.adopt(4242, "old-1"));
  auto s = f.controller.status();
  CHECK(s.state == InstanceState::ready);
  CHECK(s.pid == 4242);
  CHECK(s.instance_id == "old-1");
  CHECK(f.spawner.specs.empty());  // nothing was started
  f.spawner.last->exit(ExitStatus::not_known());
  CHECK(f.state() == InstanceState::backoff);  // an unknown end is not a clean one
  f.clock.advance(f.controller.status().next_restart_in);
  CHECK(f.spawner.specs.size() == 1);
  CHECK_FALSE(f.controller.adopt(1, "x"));  // only from stopped
}
