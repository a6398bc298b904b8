#include "supervisor/handover.h"

#include <catch2/catch.hpp>
#include <optional>

#include "common/fake_clock.h"

using namespace agentron;
using namespace std::chrono_literals;

namespace {

// Steps that record what the machine asked for; each asynchronous step waits until
// the test completes it.
struct FakeSteps : HandoverSteps {
  std::vector<std::string> calls;
  std::vector<std::string> journal_lines;
  Then<ReleaseInfo> release_then;
  Then<std::string> snapshot_then;
  Then<Counts> count_then;
  Then<std::int64_t> busy_then;
  std::function<void(const std::filesystem::path&)> started;
  Then<NewInstance> new_then;
  std::function<void()> stop_new_done, stop_old_done, start_old_done;
  Status make_current_result = ok_status();
  Then<std::string> restore_then;
  Then<std::string> restore_snapshot_then;

  void build_release(const RestartRequest& r, Then<ReleaseInfo> then) override {
    calls.push_back("build " + r.commit);
    release_then = std::move(then);
  }
  void take_snapshot(Then<std::string> then) override {
    calls.push_back("snapshot");
    snapshot_then = std::move(then);
  }
  void count_live(Then<Counts> then) override {
    calls.push_back("count");
    count_then = std::move(then);
  }
  void count_busy(Then<std::int64_t> then) override {
    calls.push_back("busy?");
    busy_then = std::move(then);
  }
  void start_new(const ReleaseInfo& r, std::function<void(const std::filesystem::path&)> s,
                 Then<NewInstance> then) override {
    calls.push_back("start_new " + r.commit);
    started = std::move(s);
    new_then = std::move(then);
  }
  void stop_new(std::function<void()> done) override {
    calls.push_back("stop_new");
    stop_new_done = std::move(done);
  }
  void stop_old(std::function<void()> done) override {
    calls.push_back("stop_old");
    stop_old_done = std::move(done);
  }
  void start_old(std::function<void()> done) override {
    calls.push_back("start_old");
    start_old_done = std::move(done);
  }
  void restore_lost_rows(const std::string& snapshot, Then<std::string> then) override {
    calls.push_back("restore_lost_rows " + snapshot);
    restore_then = std::move(then);
  }
  void restore_snapshot(const std::string& snapshot, Then<std::string> then) override {
    calls.push_back("restore_snapshot " + snapshot);
    restore_snapshot_then = std::move(then);
  }
  Status make_current(const ReleaseInfo& r) override {
    calls.push_back("make_current " + r.commit);
    return make_current_result;
  }
  void journal(HandoverPhase phase, const std::string&) override { journal_lines.push_back(to_string(phase)); }
};

struct Fixture {
  explicit Fixture(HandoverConfig config = {}, std::string when = "now") {
    RestartRequest r{"req-1", "agent-improvement/x", "abcdef1", "faster", "agent", "run-9", when};
    handover.emplace(clock, steps, config, r, [this](HandoverPhase p, const std::string& why) {
      outcome = p;
      reason = why;
    });
  }

  // Drives the happy path up to a started new instance.
  void up_to_new_instance() {
    handover->start();
    steps.release_then(ReleaseInfo{"abcdef1234", "/releases/abcdef1234"});
    steps.snapshot_then(std::string("/backups/pre-restart-x"));
    steps.count_then(Counts{{"agents", 3}, {"runs", 5}});
    steps.started("/data/.supervisor/instances/new");
  }

  FakeClock clock;
  FakeSteps steps;
  std::optional<Handover> handover;
  std::optional<HandoverPhase> outcome;
  std::string reason;
};

}  // namespace

TEST_CASE("overlap: the new instance is verified before the old one stops", "[handover]") {
  Fixture f;
  f.up_to_new_instance();
  CHECK(f.handover->phase() == HandoverPhase::verifying);
  CHECK(f.steps.calls ==
        std::vector<std::string>{"build abcdef1", "snapshot", "count", "start_new abcdef1234"});  // old still serves
  f.steps.new_then(NewInstance{"new", {{"agents", 3}, {"runs", 6}}, "ok", "/logs", ""});
  CHECK(f.handover->phase() == HandoverPhase::stopping_old);
  f.steps.stop_old_done();
  REQUIRE(f.outcome);
  CHECK(*f.outcome == HandoverPhase::done);
  CHECK(f.steps.calls == std::vector<std::string>{"build abcdef1", "snapshot", "count", "start_new abcdef1234",
                                                  "make_current abcdef1234", "stop_old"});
  CHECK(f.steps.journal_lines == std::vector<std::string>{"requested", "building_release", "backing_up", "starting_new",
                                                          "verifying", "switching", "stopping_old", "done"});
  CHECK(f.handover->backup() == "/backups/pre-restart-x");
  CHECK(f.handover->baseline().at("runs") == 5);
  CHECK(f.handover->verified().at("runs") == 6);
}

TEST_CASE("approval: nothing is built until approved; deny ends it", "[handover]") {
  HandoverConfig config;
  config.require_approval = true;
  Fixture f(config);
  f.handover->start();
  CHECK(f.handover->phase() == HandoverPhase::awaiting_approval);
  CHECK(f.steps.calls.empty());
  SECTION("approve") {
    CHECK(f.handover->approve());
    CHECK(f.steps.calls == std::vector<std::string>{"build abcdef1"});
    CHECK_FALSE(f.handover->approve());  // only once
  }
  SECTION("deny") {
    CHECK(f.handover->deny("not now"));
    REQUIRE(f.outcome);
    CHECK(*f.outcome == HandoverPhase::rejected);
    CHECK(f.reason == "denied: not now");
    CHECK(f.steps.calls.empty());
  }
}

TEST_CASE("a failed build rolls back before anything was touched", "[handover]") {
  Fixture f;
  f.handover->start();
  f.steps.release_then(Error{"build_failed", "build exit code 2"});
  REQUIRE(f.outcome);
  CHECK(*f.outcome == HandoverPhase::rolled_back);
  CHECK(f.reason == "the release build failed: build exit code 2");
  CHECK(f.steps.calls == std::vector<std::string>{"build abcdef1"});
}

TEST_CASE("a commit that is not on the fork's branch is rejected", "[handover]") {
  Fixture f;
  f.handover->start();
  f.steps.release_then(Error{"not_on_fork", "commit abcdef1 is not on the fork's branch agent-improvement/x"});
  REQUIRE(f.outcome);
  CHECK(*f.outcome == HandoverPhase::rejected);
}

TEST_CASE("fewer rows in the new instance: it is stopped, the old one never is", "[handover]") {
  Fixture f;
  f.up_to_new_instance();
  f.steps.new_then(NewInstance{"new", {{"agents", 3}, {"runs", 2}}, "ok", "/logs", ""});
  CHECK(f.steps.calls.back() == "stop_new");
  CHECK_FALSE(f.outcome);  // not over until the new instance is gone
  f.steps.stop_new_done();
  CHECK(f.steps.calls.back() == "restore_lost_rows /backups/pre-restart-x");  // after the new one is gone
  CHECK_FALSE(f.outcome);
  f.steps.restore_then(std::string("put back 3 rows"));
  REQUIRE(f.outcome);
  CHECK(*f.outcome == HandoverPhase::rolled_back);
  CHECK(f.reason ==
        "the new instance sees fewer rows than before: runs dropped from 5 to 2; put back 3 rows; the new instance's "
        "logs: /data/.supervisor/instances/new");
  for (const auto& call : f.steps.calls) {
    CHECK(call != "stop_old");
    CHECK(call.rfind("make_current", 0) != 0);
  }
}

TEST_CASE("a failed integrity check or a failed start rolls back with the reason", "[handover]") {
  Fixture f;
  f.up_to_new_instance();
  SECTION("integrity") {
    f.steps.new_then(NewInstance{"new", {{"agents", 3}, {"runs", 5}}, "Page 4: btree page corrupt", "/logs", ""});
    f.steps.stop_new_done();
    CHECK(f.reason ==
          "the new instance's integrity check failed: Page 4: btree page corrupt; the new instance's logs: "
          "/data/.supervisor/instances/new");
  }
  SECTION("start") {
    f.steps.new_then(Error{"exited", "the new instance exit code 1 before it was ready"});
    f.steps.stop_new_done();
    CHECK(f.reason ==
          "the new instance exit code 1 before it was ready; the new instance's logs: /data/.supervisor/instances/new");
  }
  CHECK(*f.outcome == HandoverPhase::rolled_back);
}

TEST_CASE("not verified within verify_timeout rolls back; a late answer is ignored", "[handover]") {
  HandoverConfig config;
  config.verify_timeout = 2min;
  Fixture f(config);
  f.up_to_new_instance();
  f.clock.advance(2min - 1ms);
  CHECK_FALSE(f.outcome);
  f.clock.advance(1ms);
  CHECK(f.steps.calls.back() == "stop_new");
  f.steps.stop_new_done();
  REQUIRE(f.outcome);
  CHECK(f.reason ==
        "the new instance was not verified within 2m ([handover] verify_timeout); the new instance's logs: "
        "/data/.supervisor/instances/new");
  f.steps.new_then(NewInstance{"new", {{"agents", 3}, {"runs", 5}}, "ok", "/logs", ""});
  CHECK(*f.outcome == HandoverPhase::rolled_back);
  CHECK(f.steps.calls.back() == "stop_new");
}

namespace {

// A stop-first handover driven up to its request to stop the old instance.
struct StopFirstFixture : Fixture {
  StopFirstFixture() : Fixture(stop_first()) {
    handover->start();
    steps.release_then(ReleaseInfo{"abcdef1234", "/releases/abcdef1234"});
    steps.snapshot_then(std::string("/backups/pre"));
    steps.count_then(Counts{{"agents", 1}});
  }
  static HandoverConfig stop_first() {
    HandoverConfig config;
    config.strategy = HandoverStrategy::stop_first;
    return config;
  }
};

}  // namespace

TEST_CASE("stop-first: old stops before new starts, and comes back on failure", "[handover]") {
  StopFirstFixture f;
  CHECK(f.steps.calls.back() == "stop_old");
  f.steps.stop_old_done();
  CHECK(f.steps.calls.back() == "start_new abcdef1234");
  f.steps.new_then(Error{"not_ready", "not ready after 1m"});
  f.steps.stop_new_done();
  CHECK(f.steps.calls.back() == "start_old");
  CHECK_FALSE(f.outcome);
  f.steps.start_old_done();
  REQUIRE(f.outcome);
  CHECK(*f.outcome == HandoverPhase::rolled_back);
  CHECK(f.reason == "not ready after 1m; the previous release runs again");
}

TEST_CASE("a rollback uses the existing release: no build, no approval", "[handover]") {
  HandoverConfig config;
  config.require_approval = true;
  Fixture f(config);
  f.handover->use_existing_release(ReleaseInfo{"0ld", "/releases/0ld"});
  f.handover->start();
  CHECK(f.steps.calls == std::vector<std::string>{"snapshot"});
  f.steps.snapshot_then(std::string("/backups/pre"));
  f.steps.count_then(Counts{{"agents", 1}});
  CHECK(f.steps.calls.back() == "start_new 0ld");
}

TEST_CASE("stop-first: a failed integrity check restores the snapshot before the old release starts", "[handover]") {
  StopFirstFixture f;
  f.steps.stop_old_done();
  f.steps.new_then(NewInstance{"new", {{"agents", 1}}, "Page 3: btree page corrupt", "/logs", ""});
  f.steps.stop_new_done();
  CHECK(f.steps.calls.back() == "restore_snapshot /backups/pre");
  f.steps.restore_snapshot_then(std::string("restored /backups/pre"));
  CHECK(f.steps.calls.back() == "start_old");
  f.steps.start_old_done();
  REQUIRE(f.outcome);
  CHECK(f.reason ==
        "the new instance's integrity check failed: Page 3: btree page corrupt; restored /backups/pre; the previous "
        "release runs again");
}

TEST_CASE("abandoned by a stopping supervisor: rolled back before the switch, done after", "[handover]") {
  SECTION("before") {
    Fixture f;
    f.up_to_new_instance();
    f.handover->abandon("the supervisor was stopped during verifying");
    REQUIRE(f.outcome);
    CHECK(*f.outcome == HandoverPhase::rolled_back);
    CHECK(f.steps.journal_lines.back() == "rolled_back");
    f.steps.new_then(NewInstance{"new", {{"agents", 3}, {"runs", 5}}, "ok", "/logs", ""});  // late: ignored
    CHECK(f.steps.calls.back() == "start_new abcdef1234");
  }
  SECTION("after") {
    Fixture f;
    f.up_to_new_instance();
    f.steps.new_then(NewInstance{"new", {{"agents", 3}, {"runs", 5}}, "ok", "/logs", ""});
    f.handover->abandon("the supervisor was stopped during stopping_old");
    REQUIRE(f.outcome);
    CHECK(*f.outcome == HandoverPhase::done);
  }
  SECTION("stop-first before the switch") {
    StopFirstFixture f;  // in stopping_old, but nothing was switched
    f.handover->abandon("stopped");
    CHECK(*f.outcome == HandoverPhase::rolled_back);
  }
}

TEST_CASE("when idle: built first, then it waits while runs execute, and goes on at the first idle look",
          "[handover]") {
  HandoverConfig config;
  config.idle_timeout = 10min;
  Fixture f(config, "idle");
  f.handover->start();
  f.steps.release_then(ReleaseInfo{"abcdef1234", "/releases/abcdef1234"});
  CHECK(f.steps.calls.back() == "busy?");
  f.steps.busy_then(std::int64_t{2});
  CHECK(f.handover->phase() == HandoverPhase::waiting_for_idle);
  f.clock.advance(kIdlePoll);
  f.steps.busy_then(std::int64_t{2});  // unchanged: journaled once
  f.clock.advance(kIdlePoll);
  f.steps.busy_then(std::int64_t{1});
  f.clock.advance(kIdlePoll);
  CHECK(f.steps.calls.back() == "busy?");
  f.steps.busy_then(std::int64_t{0});
  CHECK(f.handover->phase() == HandoverPhase::backing_up);
  CHECK(f.steps.calls.back() == "snapshot");
  CHECK(f.steps.journal_lines == std::vector<std::string>{"requested", "building_release", "waiting_for_idle",
                                                          "waiting_for_idle", "backing_up"});
  CHECK_FALSE(f.outcome);
}

TEST_CASE("when idle: an app idle at once is not waited for", "[handover]") {
  Fixture f({}, "idle");
  f.handover->start();
  f.steps.release_then(ReleaseInfo{"abcdef1234", "/releases/abcdef1234"});
  f.steps.busy_then(std::int64_t{0});
  CHECK(f.handover->phase() == HandoverPhase::backing_up);
  CHECK(f.steps.journal_lines == std::vector<std::string>{"requested", "building_release", "backing_up"});
}

TEST_CASE("when idle: still busy at idle_timeout ends rolled back with nothing restarted", "[handover]") {
  HandoverConfig config;
  config.idle_timeout = 1s;
  Fixture f(config, "idle");
  f.handover->start();
  f.steps.release_then(ReleaseInfo{"abcdef1234", "/releases/abcdef1234"});
  for (int i = 0; i < 10 && !f.outcome; ++i) {
    f.steps.busy_then(std::int64_t{1});
    if (!f.outcome) f.clock.advance(kIdlePoll);
  }
  REQUIRE(f.outcome);
  CHECK(*f.outcome == HandoverPhase::rolled_back);
  CHECK_THAT(f.reason, Catch::Contains("not idle within 1s") && Catch::Contains("1 run(s) still executing") &&
                           Catch::Contains("nothing was restarted"));
  for (const auto& call : f.steps.calls) CHECK(call.rfind("start_new", 0) != 0);
}

TEST_CASE("when idle: a query that fails ends it rolled back, saying why", "[handover]") {
  Fixture f({}, "idle");
  f.handover->start();
  f.steps.release_then(ReleaseInfo{"abcdef1234", "/releases/abcdef1234"});
  f.steps.busy_then(Error{"sql_error", "no such column: status"});
  REQUIRE(f.outcome);
  CHECK(*f.outcome == HandoverPhase::rolled_back);
  CHECK_THAT(f.reason, Catch::Contains("idle_query") && Catch::Contains("no such column: status"));
}
