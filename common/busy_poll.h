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
#pragma once

#include <boost/asio/io_context.hpp>

#include "common/duration.h"

namespace agentron {

// When to spin. Pure bookkeeping, so it is tested without a clock.
class SpinPolicy {
 public:
  // Spins that find nothing in a row before spinning stops.
  static constexpr int kMissesBeforeSleeping = 8;

  explicit SpinPolicy(Duration window) : window_(window) {}

  Duration window() const { return window_; }
  // Spin before the next blocking wait?
  bool should_spin() const { return window_ > Duration::zero() && misses_ < kMissesBeforeSleeping; }
  void spin_found_work() { misses_ = 0; }
  void spin_found_nothing() { ++misses_; }
  // A blocking wait (and the handler it ran) took `d`.
  void waited(Duration d) {
    if (d < window_) misses_ = 0;
  }

 private:
  Duration window_;
  int misses_ = 0;
};

// io.run(), but with busy polling for `window` after each event, as SpinPolicy says.
// A window of zero is exactly io.run(). Returns when io runs out of work or is
// stopped.
void run_busy_polling(boost::asio::io_context& io, Duration window);

}  // namespace agentron
