#include "common/busy_poll.h"

#include <sched.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <catch2/catch.hpp>
#include <future>
#include <optional>
#include <thread>

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

namespace {

// A machine whose load the test sets.
class FakeCpuLoad final : public CpuLoad {
 public:
  FakeCpuLoad(std::optional<int> runnable, int cpus) : runnable_(runnable), cpus_(cpus) {}
  std::optional<int> runnable_threads() const override { return runnable_; }
  int usable_cpus() const override { return cpus_; }

 private:
  std::optional<int> runnable_;
  int cpus_;
};

}  // namespace

TEST_CASE("the runnable count is the fourth field of /proc/loadavg", "[busy_poll]") {
  CHECK(parse_runnable_threads("0.52 0.58 0.59 3/467 12345\n") == 3);
  CHECK(parse_runnable_threads("12.00 9.50 8.25 17/1024 99") == 17);
  CHECK(parse_runnable_threads("0.00 0.00 0.00 1/1 1") == 1);
  CHECK_FALSE(parse_runnable_threads("").has_value());
  CHECK_FALSE(parse_runnable_threads("0.52 0.58 0.59").has_value());
  CHECK_FALSE(parse_runnable_threads("0.52 0.58 0.59 x/467 12345").has_value());
  CHECK_FALSE(parse_runnable_threads("0.52 0.58 0.59 3").has_value());  // cut short: not the runnable/all pair
}

TEST_CASE("others wait for a CPU only when more threads are runnable than there are CPUs", "[busy_poll]") {
  CHECK(others_wait_for_a_cpu(FakeCpuLoad(3, 2)));
  CHECK(others_wait_for_a_cpu(FakeCpuLoad(65, 64)));
  CHECK_FALSE(others_wait_for_a_cpu(FakeCpuLoad(2, 2)));  // each runnable thread has a CPU
  CHECK_FALSE(others_wait_for_a_cpu(FakeCpuLoad(1, 4)));
  CHECK_FALSE(others_wait_for_a_cpu(FakeCpuLoad(std::nullopt, 1)));  // cannot tell: spinning stays allowed
}

TEST_CASE("the machine's load is read from /proc/loadavg and the affinity mask", "[busy_poll]") {
  cpu_set_t set;
  CPU_ZERO(&set);
  REQUIRE(::sched_getaffinity(0, sizeof set, &set) == 0);
  ProcCpuLoad load;
  CHECK(load.usable_cpus() == CPU_COUNT(&set));
  auto runnable = load.runnable_threads();
  REQUIRE(runnable.has_value());
  CHECK(*runnable >= 1);                       // this thread, reading it, is running
  CHECK(load.runnable_threads().has_value());  // read again: the file is re-read from its start
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
void runs_everything_then_returns(Duration window, const CpuLoad& load) {
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
  auto done = std::async(std::launch::async, [&] { run_busy_polling(io, window, load); });
  REQUIRE(done.wait_for(10s) == std::future_status::ready);
  other.join();
  CHECK(chain == 1000);
  CHECK(timer_fired);
  CHECK(from_thread);
  CHECK(io.stopped());
}

}  // namespace

TEST_CASE("the busy-polling loop runs what io.run runs and returns when the work is done", "[busy_poll]") {
  FakeCpuLoad idle(1, 2), busy(3, 2);
  SECTION("with a window") { runs_everything_then_returns(50us, idle); }
  SECTION("with a long window") { runs_everything_then_returns(20ms, idle); }
  SECTION("with a window, while others wait for a CPU") { runs_everything_then_returns(50us, busy); }
  SECTION("without a window (plain io.run)") { runs_everything_then_returns(Duration::zero(), idle); }
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
