#include "common/busy_poll.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <catch2/catch.hpp>
#include <future>
#include <thread>

using namespace agentron;
using namespace std::chrono_literals;

TEST_CASE("the spin policy spins until spins keep finding nothing", "[busy_poll]") {
  SpinPolicy policy(50us);
  CHECK(policy.should_spin());
  for (int i = 0; i < SpinPolicy::kMissesBeforeSleeping - 1; ++i) policy.spin_found_nothing();
  CHECK(policy.should_spin());
  policy.spin_found_work();  // a find starts the count again
  for (int i = 0; i < SpinPolicy::kMissesBeforeSleeping - 1; ++i) policy.spin_found_nothing();
  CHECK(policy.should_spin());
  policy.spin_found_nothing();
  CHECK_FALSE(policy.should_spin());
}

TEST_CASE("the spin policy starts again when a wait was shorter than the window", "[busy_poll]") {
  SpinPolicy policy(50us);
  for (int i = 0; i < SpinPolicy::kMissesBeforeSleeping; ++i) policy.spin_found_nothing();
  REQUIRE_FALSE(policy.should_spin());
  policy.waited(2ms);  // the gaps are long: spinning would not have helped
  CHECK_FALSE(policy.should_spin());
  policy.waited(20us);
  CHECK(policy.should_spin());
}

TEST_CASE("a zero window never spins", "[busy_poll]") {
  SpinPolicy policy(Duration::zero());
  CHECK_FALSE(policy.should_spin());
  policy.waited(1ns);
  CHECK_FALSE(policy.should_spin());
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
