#include "supervisor/front_policy.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/fake_clock.h"

using namespace agentron;
using namespace std::chrono_literals;

namespace {

// The front's I/O as the policy sees it: records each action, and reports back as
// FrontLoop does — a close is closed(), and with fail_connects a connect fails at once.
struct FakeFront : FrontActions {
  FrontPolicy* policy = nullptr;
  std::vector<std::string> calls;
  bool fail_connects = false;

  void connect(FrontConnectionId c, int port) override {
    calls.push_back("connect " + std::to_string(c) + " " + std::to_string(port));
    if (fail_connects) policy->connect_failed(c);
  }
  void close(FrontConnectionId c) override {
    calls.push_back("close " + std::to_string(c));
    policy->closed(c);
  }
  void accept_again() override { calls.push_back("accept_again"); }
  void drain_timed_out(int port, size_t left) override {
    calls.push_back("drain_timed_out " + std::to_string(port) + " " + std::to_string(left));
  }
};

struct Fixture {
  explicit Fixture(ProxyConfig config = defaults()) : policy(clock, front, config) { front.policy = &policy; }

  static ProxyConfig defaults() {
    ProxyConfig c;
    c.queue_timeout = 30s;
    c.queue_limit = 2;
    c.drain_timeout = 30s;
    return c;
  }

  // A handover's switch with connections open: 1 and 2 to the old instance (8001),
  // then 3 to the new one (8002). Its calls are taken.
  void switch_over() {
    policy.set_active(8001);
    policy.accepted(1);
    policy.accepted(2);
    policy.set_active(8002);
    policy.accepted(3);
    calls();
  }

  // The calls since the last look.
  std::vector<std::string> calls() { return std::exchange(front.calls, {}); }

  // The calls when `d` has passed — and none a moment before.
  std::vector<std::string> calls_after(Duration d) {
    calls();
    clock.advance(d - 1ms);
    CHECK(calls().empty());
    clock.advance(1ms);
    return calls();
  }

  FakeClock clock;
  FakeFront front;
  FrontPolicy policy;
};

using Calls = std::vector<std::string>;

}  // namespace

TEST_CASE("a connection goes to the active instance at once", "[front_policy]") {
  Fixture f;
  f.policy.set_active(8001);
  f.policy.accepted(1);
  CHECK(f.calls() == Calls{"connect 1 8001"});
  CHECK(f.policy.connections_per_port() == std::map<int, long>{{8001, 1}});
  CHECK(f.policy.waiting() == 0);
  f.clock.advance(1h);
  CHECK(f.calls().empty());
  CHECK(f.clock.pending() == 0);
}

TEST_CASE("with no instance ready a connection waits, and is refused at queue_timeout", "[front_policy]") {
  Fixture f;
  f.policy.accepted(1);
  CHECK(f.calls().empty());
  CHECK(f.policy.waiting() == 1);
  CHECK(f.calls_after(30s) == Calls{"close 1"});
  CHECK(f.policy.refused() == 1);
  CHECK(f.policy.waiting() == 0);
}

TEST_CASE("waiting connections go to the instance that becomes ready, oldest first", "[front_policy]") {
  Fixture f;
  f.policy.accepted(1);
  f.clock.advance(10s);
  f.policy.accepted(2);
  f.clock.advance(10s);
  f.policy.set_active(8001);
  CHECK(f.calls() == Calls{"connect 1 8001", "connect 2 8001"});
  f.clock.advance(1h);  // their queue_timeout no longer applies
  CHECK(f.calls().empty());
  CHECK(f.policy.refused() == 0);
}

TEST_CASE("more than queue_limit waiting are refused at once", "[front_policy]") {
  Fixture f;  // queue_limit = 2
  f.policy.accepted(1);
  f.policy.accepted(2);
  f.policy.accepted(3);
  CHECK(f.calls() == Calls{"close 3"});
  CHECK(f.policy.refused() == 1);
  f.front.close(1);  // a place in the queue is free again
  f.calls();
  f.policy.accepted(4);
  CHECK(f.calls().empty());
  CHECK(f.policy.waiting() == 2);
}

TEST_CASE("a switch sends new connections to the new instance; open ones stay", "[front_policy]") {
  Fixture f;
  f.policy.set_active(8001);
  f.policy.accepted(1);
  f.policy.set_active(8002);
  f.policy.accepted(2);
  CHECK(f.calls() == Calls{"connect 1 8001", "connect 2 8002"});
  CHECK(f.policy.connections_per_port() == std::map<int, long>{{8001, 1}, {8002, 1}});
}

TEST_CASE("a switch during a wait for an instance: the waiting go to the new one", "[front_policy]") {
  Fixture f;
  f.policy.set_active(8001);
  f.policy.accepted(1);
  f.policy.clear_active();  // the old instance is no longer ready: a stop-first handover
  f.policy.accepted(2);
  f.clock.advance(5s);
  CHECK(f.calls() == Calls{"connect 1 8001"});
  f.policy.set_active(8002);
  CHECK(f.calls() == Calls{"connect 2 8002"});
  CHECK(f.policy.connections_per_port() == std::map<int, long>{{8001, 1}, {8002, 1}});
}

TEST_CASE("a drain ends when the last connection to its port closes", "[front_policy]") {
  Fixture f;
  f.switch_over();
  bool done = false;
  f.policy.drain(8001, 30s, [&] { done = true; });
  f.front.close(1);
  f.front.close(3);  // to the new instance: not drained
  CHECK_FALSE(done);
  f.front.close(2);
  CHECK(done);
  CHECK(f.clock.pending() == 0);  // its timeout is cancelled
}

TEST_CASE("a drain of a port with nothing open ends at once", "[front_policy]") {
  Fixture f;
  f.policy.set_active(8002);
  bool done = false;
  f.policy.drain(8001, 30s, [&] { done = true; });
  CHECK(done);
  CHECK(f.clock.pending() == 0);
}

TEST_CASE("at the drain timeout the connections left are closed, then it ends", "[front_policy]") {
  Fixture f;
  f.switch_over();
  bool done = false;
  f.policy.drain(8001, 10s, [&] { done = true; });
  auto calls = f.calls_after(10s);
  REQUIRE(calls.size() == 3);
  CHECK(calls[0] == "drain_timed_out 8001 2");
  std::sort(calls.begin() + 1, calls.end());  // in no particular order
  CHECK(Calls(calls.begin() + 1, calls.end()) == Calls{"close 1", "close 2"});
  CHECK(done);
  CHECK(f.policy.connections_per_port() == std::map<int, long>{{8002, 1}});
  CHECK(f.policy.refused() == 0);  // drained, not refused
}

TEST_CASE("a connection whose connect to the drained port fails leaves the drain", "[front_policy]") {
  Fixture f;
  f.policy.set_active(8001);
  f.policy.accepted(1);  // connecting to 8001 as it goes away
  f.policy.set_active(8002);
  bool done = false;
  f.policy.drain(8001, 30s, [&] { done = true; });
  CHECK_FALSE(done);
  f.policy.connect_failed(1);
  CHECK(done);
  f.clock.advance(FrontPolicy::kConnectRetry);
  CHECK(f.calls() == Calls{"connect 1 8001", "connect 1 8002"});
}

TEST_CASE("a failed connect is tried again every 20ms until queue_timeout after the accept", "[front_policy]") {
  auto config = Fixture::defaults();
  config.queue_timeout = 100ms;
  Fixture f(config);
  f.front.fail_connects = true;
  f.policy.set_active(8001);
  f.policy.accepted(1);
  CHECK(f.calls() == Calls{"connect 1 8001"});
  CHECK(f.calls_after(20ms) == Calls{"connect 1 8001"});
  f.clock.advance(60ms);  // tries at 40, 60 and 80ms
  CHECK(f.calls().size() == 3);
  f.clock.advance(20ms);  // the try at 100ms fails too: its window is over
  CHECK(f.calls() == Calls{"connect 1 8001", "close 1"});
  CHECK(f.policy.refused() == 1);
  CHECK(f.clock.pending() == 0);
}

TEST_CASE("a connection whose connect failed waits for the next ready instance", "[front_policy]") {
  Fixture f;
  f.policy.set_active(8001);
  f.policy.accepted(1);
  f.policy.clear_active();  // the instance crashed; the supervisor saw it
  f.policy.connect_failed(1);
  f.clock.advance(FrontPolicy::kConnectRetry);
  CHECK(f.policy.waiting() == 1);
  f.clock.advance(10s);
  f.policy.set_active(8002);
  CHECK(f.calls() == Calls{"connect 1 8001", "connect 1 8002"});
}

TEST_CASE("the wait for an instance counts from the accept, not from the last connect", "[front_policy]") {
  Fixture f;
  f.policy.set_active(8001);
  f.policy.accepted(1);
  f.clock.advance(10s);
  f.policy.clear_active();
  f.policy.connect_failed(1);
  CHECK(f.calls_after(20s) == Calls{"close 1"});
}

TEST_CASE("an unanswered request is sent again at most three times", "[front_policy]") {
  Fixture f;
  f.policy.set_active(8001);
  f.policy.accepted(1);
  for (int replay = 1; replay <= FrontPolicy::kMaxReplays; ++replay) {
    f.policy.upstream_lost(1);
    f.clock.advance(FrontPolicy::kConnectRetry);
  }
  CHECK(f.calls() == Calls{"connect 1 8001", "connect 1 8001", "connect 1 8001", "connect 1 8001"});
  f.policy.upstream_lost(1);
  CHECK(f.calls() == Calls{"close 1"});
  CHECK(f.policy.refused() == 0);  // closed as the instance closed it, not refused
  CHECK(f.clock.pending() == 0);
}

TEST_CASE("failed connects are no replays", "[front_policy]") {
  Fixture f;
  f.policy.set_active(8001);
  f.policy.accepted(1);
  for (int i = 0; i < 10; ++i) {
    f.policy.connect_failed(1);
    f.clock.advance(FrontPolicy::kConnectRetry);
  }
  f.calls();
  f.policy.upstream_lost(1);  // the first replay
  f.clock.advance(FrontPolicy::kConnectRetry);
  CHECK(f.calls() == Calls{"connect 1 8001"});
}

TEST_CASE("the connection cap leaves half the free descriptors, at most 256, in reserve", "[front_policy]") {
  Fixture f;
  f.policy.limit_connections(10);
  CHECK(f.policy.reserved_descriptors() == 5);
  CHECK(f.policy.max_connections() == 2);
  f.policy.limit_connections(10000);
  CHECK(f.policy.reserved_descriptors() == 256);
  CHECK(f.policy.max_connections() == 4872);
  f.policy.limit_connections(1);
  CHECK(f.policy.max_connections() == 1);  // never none
}

TEST_CASE("at the connection cap accepting pauses until a connection closes", "[front_policy]") {
  Fixture f;
  f.policy.limit_connections(10);  // 2 connections
  f.policy.set_active(8001);
  CHECK(f.policy.may_accept());
  f.policy.accepted(1);
  CHECK(f.policy.may_accept());
  f.policy.accepted(2);
  CHECK_FALSE(f.policy.may_accept());
  f.calls();
  f.front.close(1);
  CHECK(f.calls() == Calls{"close 1", "accept_again"});
  CHECK(f.policy.may_accept());
  f.front.close(2);  // accepting was not paused: nothing owed
  CHECK(f.calls() == Calls{"close 2"});
}

TEST_CASE("waiting connections count toward the cap", "[front_policy]") {
  Fixture f;
  f.policy.limit_connections(10);
  f.policy.accepted(1);
  f.policy.accepted(2);
  CHECK_FALSE(f.policy.may_accept());
  f.clock.advance(30s);  // both refused at queue_timeout
  CHECK(f.calls() == Calls{"close 1", "accept_again", "close 2"});
}

TEST_CASE("an accept error pauses accepting for 100ms", "[front_policy]") {
  Fixture f;
  f.policy.accept_failed();
  CHECK(f.calls_after(100ms) == Calls{"accept_again"});
}

TEST_CASE("shut down: drains are dropped and no timer fires again", "[front_policy]") {
  Fixture f;
  f.policy.limit_connections(10);
  f.policy.set_active(8001);
  f.policy.accepted(1);
  f.policy.clear_active();
  f.policy.accepted(2);
  CHECK_FALSE(f.policy.may_accept());
  f.policy.accept_failed();
  bool done = false;
  f.policy.drain(8001, 10s, [&] { done = true; });
  f.calls();
  f.policy.shut_down();
  CHECK(f.clock.pending() == 0);
  f.front.close(1);  // the I/O closes every connection
  f.front.close(2);
  CHECK(f.calls() == Calls{"close 1", "close 2"});
  CHECK_FALSE(done);
}

TEST_CASE("a close during a connect that fails at once leaves nothing behind", "[front_policy]") {
  auto config = Fixture::defaults();
  config.queue_timeout = 0s;  // a failed connect is refused at once
  Fixture f(config);
  f.front.fail_connects = true;
  f.policy.set_active(8001);
  f.policy.accepted(1);
  CHECK(f.calls() == Calls{"connect 1 8001", "close 1"});
  CHECK(f.policy.connections_per_port().empty());
  CHECK(f.policy.waiting() == 0);
  CHECK(f.clock.pending() == 0);
}
