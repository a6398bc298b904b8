#include "common/busy_poll.h"

#include <chrono>

namespace agentron {

void run_busy_polling(boost::asio::io_context& io, Duration window) {
  if (window <= Duration::zero()) {
    io.run();
    return;
  }
  using clock = std::chrono::steady_clock;
  SpinPolicy policy(window);
  while (!io.stopped()) {
    if (io.poll() > 0) continue;  // handlers were ready: run them all first
    if (io.stopped()) return;
    if (policy.should_spin()) {
      auto until = clock::now() + window;
      bool found = false;
      while (!found && !io.stopped() && clock::now() < until) found = io.poll() > 0;
      if (found) {
        policy.spin_found_work();
        continue;
      }
      if (io.stopped()) return;
      policy.spin_found_nothing();
    }
    auto before = clock::now();
    io.run_one();
    policy.waited(clock::now() - before);
  }
}

}  // namespace agentron
