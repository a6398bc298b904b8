// Busy polling for the event loop ([proxy] busy_poll).
//
// A loop that sleeps in epoll_wait between two events pays a wakeup for each: on a VM
// an interrupt and often a vCPU exit — tens of microseconds, as much as the front's
// whole work of forwarding a request. Like the kernel's net.core.busy_poll and
// HAProxy's busy-polling, the loop instead keeps polling for a short window after its
// last event, so the next one is found without a wakeup. Unlike them it is adaptive:
// it stops spinning when spins keep finding nothing (the gaps between events are
// longer than the window — an idle or lightly loaded front), and starts again when a
// blocking wait turns out shorter than the window (spinning would have caught it).
// And it does not spin while other threads wait for a CPU: on a busy machine a spin
// takes the CPU that the app or the clients need (measured: 40% more CPU for the
// front, 8% less throughput at 64 busy connections on 2 vCPUs).
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <optional>
#include <string_view>

#include "common/duration.h"
#include "common/unique_fd.h"

namespace agentron {

// When to spin. Pure bookkeeping, so it is tested without a clock.
class SpinPolicy {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  // Spins that find nothing in a row before spinning stops.
  static constexpr int kMissesBeforeSleeping = 8;
  // No spinning for this long after other threads were seen waiting for a CPU.
  static constexpr Duration kRestWhenContended = std::chrono::milliseconds(100);

  explicit SpinPolicy(Duration window) : window_(window) {}

  Duration window() const { return window_; }
  // Spin before the next blocking wait?
  bool should_spin(TimePoint now) const {
    return window_ > Duration::zero() && misses_ < kMissesBeforeSleeping && now >= rest_until_;
  }
  // More threads are runnable than there are CPUs: a spin would take one of theirs.
  void cpus_contended(TimePoint now) { rest_until_ = now + kRestWhenContended; }
  void spin_found_work() { misses_ = 0; }
  void spin_found_nothing() { ++misses_; }
  // A blocking wait (and the handler it ran) took `d`.
  void waited(Duration d) {
    if (d < window_) misses_ = 0;
  }

 private:
  Duration window_;
  int misses_ = 0;
  TimePoint rest_until_{};
};

// What the contention check reads: how many threads the machine can run now, and how
// many CPUs this process may use. An interface so that the check is tested on loads a
// test makes up: a real busy machine would take spinning on every CPU.
class CpuLoad {
 public:
  virtual ~CpuLoad() = default;
  // Threads runnable now, machine-wide, the caller included; nullopt when it cannot tell.
  virtual std::optional<int> runnable_threads() const = 0;
  // CPUs this process may run on: at least 1.
  virtual int usable_cpus() const = 0;
};

// The running count of /proc/loadavg against the CPU affinity mask.
class ProcCpuLoad final : public CpuLoad {
 public:
  ProcCpuLoad();
  std::optional<int> runnable_threads() const override;
  int usable_cpus() const override { return cpus_; }

 private:
  UniqueFd loadavg_;
  int cpus_ = 1;
};

// The runnable count in the text of /proc/loadavg ("0.52 0.58 0.59 3/467 12345" → 3);
// nullopt when the text is not in that form.
std::optional<int> parse_runnable_threads(std::string_view loadavg);

// More threads are runnable than this process may use CPUs: a spin would take one of
// theirs. False when it cannot tell.
bool others_wait_for_a_cpu(const CpuLoad& load);

// io.run(), but with busy polling for `window` after each event, as SpinPolicy says,
// resting while `load` says others wait for a CPU (ProcCpuLoad when not given). A
// window of zero is exactly io.run(). Returns when io runs out of work or is stopped.
void run_busy_polling(boost::asio::io_context& io, Duration window);
void run_busy_polling(boost::asio::io_context& io, Duration window, const CpuLoad& load);

}  // namespace agentron
