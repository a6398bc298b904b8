#include "common/busy_poll.h"

#include <sched.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <catch2/catch.hpp>
#include <future>
#include <thread>
#include <vector>

using namespace agentron;
using namespace std::chrono_literals;

TEST_CASE("the spin policy spins until spins keep finding nothing", "[busy_poll]") {
  SpinPolicy policy(50us);
  SpinPolicy::TimePoint now{};
  CHECK(policy.should_spin(now));
  for (int i = 0; i < SpinPolicy::kMissesBeforeSleeping - 1; ++i) policy.spin_found_nothing();
  CHECK(policy.should_spin(now));
  policy.spin_found_work();  // a find starts the count again
  for (int i = 0; i < SpinPolicy::kMissesBeforeSleeping - 1; ++i) policy.spin_found_nothing();
  CHECK(policy.should_spin(now));
  policy.spin_found_nothing();
  CHECK_FALSE(policy.should_spin(now));
}

TEST_CASE("the spin policy starts again when a wait was shorter than the window", "[busy_poll]") {
  SpinPolicy policy(50us);
  SpinPolicy::TimePoint now{};
  for (int i = 0; i < SpinPolicy::kMissesBeforeSleeping; ++i) policy.spin_found_nothing();
  REQUIRE_FALSE(policy.should_spin(now));
  policy.waited(2ms);  // the gaps are long: spinning would not have helped
  CHECK_FALSE(policy.should_spin(now));
  policy.waited(20us);
  CHECK(policy.should_spin(now));
}

TEST_CASE("the spin policy rests while other threads wait for a CPU", "[busy_poll]") {
  SpinPolicy policy(50us);
  SpinPolicy::TimePoint now{std::chrono::seconds(1)};
  policy.cpus_contended(now);
  CHECK_FALSE(policy.should_spin(now));
  policy.spin_found_work();  // work found does not end the rest: the CPUs are still busy
  policy.waited(1us);
  CHECK_FALSE(policy.should_spin(now + SpinPolicy::kRestWhenContended - 1us));
  CHECK(policy.should_spin(now + SpinPolicy::kRestWhenContended));
}

TEST_CASE("the CPU contention probe sees a busy machine as one", "[busy_poll]") {
  // As many spinning threads as this process may use CPUs, plus this one: more
  // runnable threads than CPUs, whatever else the machine runs.
  cpu_set_t set;
  CPU_ZERO(&set);
  REQUIRE(::sched_getaffinity(0, sizeof set, &set) == 0);
  std::atomic<bool> stop = false;
  std::vector<std::thread> spinners;
  for (int i = 0; i < CPU_COUNT(&set); ++i) {
    spinners.emplace_back([&] {
      while (!stop) {
      }
    });
  }
  CpuContention contention;
  bool seen = false;
  for (auto until = std::chrono::steady_clock::now() + 5s; !seen && std::chrono::steady_clock::now() < until;) {
    seen = contention.others_waiting();
  }
  stop = true;
  for (auto& t : spinners) t.join();
  CHECK(seen);
}

TEST_CASE("a zero window never spins", "[busy_poll]") {
  SpinPolicy policy(Duration::zero());
  SpinPolicy::TimePoint now{};
  CHECK_FALSE(policy.should_spin(now));
  policy.waited(1ns);
  CHECK_FALSE(policy.should_spin(now));
}

namespace {

// A chain of posted handlers, a timer, and a handler posted from another thread
// while the loop waits or spins: all run, then the loop returns on its own.
void runs_everything_then_returns(Duration window) {
  boost::asio::io_context io;
  int chain = 0;
  std::function<void()> step = [&] {
    if (++chain < 1000) boost::asio::post(io, step);
  };
  boost::asio::post(io, step);
  bool timer_fired = false;
  boost::asio::steady_timer timer(io, 5ms);
  timer.async_wait([&](const boost::system::error_code& ec) { timer_fired = !ec; });
  auto guard = boost::asio::make_work_guard(io);
  bool from_thread = false;
  std::thread other([&] {
    boost::asio::post(io, [&] {
      from_thread = true;
      guard.reset();  // the last work: the loop may return now
    });
  });
  auto done = std::async(std::launch::async, [&] { run_busy_polling(io, window); });
  REQUIRE(done.wait_for(10s) == std::future_status::ready);
  other.join();
  CHECK(chain == 1000);
  CHECK(timer_fired);
  CHECK(from_thread);
  CHECK(io.stopped());
}

}  // namespace

TEST_CASE("the busy-polling loop runs what io.run runs and returns when the work is done", "[busy_poll]") {
  SECTION("with a window") { runs_everything_then_returns(50us); }
  SECTION("with a long window") { runs_everything_then_returns(20ms); }
  SECTION("without a window (plain io.run)") { runs_everything_then_returns(Duration::zero()); }
}

TEST_CASE("io.stop() ends the busy-polling loop while work remains", "[busy_poll]") {
  boost::asio::io_context io;
  auto guard = boost::asio::make_work_guard(io);
  boost::asio::steady_timer timer(io, 2ms);
  timer.async_wait([&](const boost::system::error_code&) { io.stop(); });
  auto done = std::async(std::launch::async, [&] { run_busy_polling(io, 50us); });
  REQUIRE(done.wait_for(10s) == std::future_status::ready);
  CHECK(io.stopped());
}
