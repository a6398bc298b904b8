#include "common/fake_clock.h"

#include <catch2/catch.hpp>
#include <vector>

using namespace agentron;
using namespace std::chrono_literals;

TEST_CASE("fake clock fires due timers in deadline order", "[clock]") {
  FakeClock clock;
  std::vector<int> fired;
  Timer a = clock.start_timer(300ms, [&] { fired.push_back(3); });
  Timer b = clock.start_timer(100ms, [&] { fired.push_back(1); });
  Timer c = clock.start_timer(200ms, [&] { fired.push_back(2); });
  clock.advance(150ms);
  CHECK(fired == std::vector<int>{1});
  clock.advance(1s);
  CHECK(fired == std::vector<int>{1, 2, 3});
  CHECK(clock.pending() == 0);
}

TEST_CASE("a reset or destroyed timer never fires", "[clock]") {
  FakeClock clock;
  int fired = 0;
  Timer a = clock.start_timer(100ms, [&] { ++fired; });
  {
    Timer b = clock.start_timer(100ms, [&] { ++fired; });
  }
  a.reset();
  clock.advance(1s);
  CHECK(fired == 0);
}

TEST_CASE("a timer started by a callback fires within the same advance", "[clock]") {
  FakeClock clock;
  Timer outer, inner;
  TimePoint start = clock.now(), inner_fired{};
  outer = clock.start_timer(100ms, [&] { inner = clock.start_timer(50ms, [&] { inner_fired = clock.now(); }); });
  clock.advance(200ms);
  CHECK(inner_fired - start == 150ms);
  CHECK(clock.now() - start == 200ms);
}
