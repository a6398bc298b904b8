#include "common/busy_poll.h"

#include <fcntl.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>

namespace agentron {

CpuContention::CpuContention() : loadavg_(::open("/proc/loadavg", O_RDONLY | O_CLOEXEC)) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) cpus_ = std::max(1, CPU_COUNT(&set));
}

bool CpuContention::others_waiting() const {
  // "0.52 0.58 0.59 3/467 12345": the fourth field is runnable/all.
  char text[128];
  ssize_t n = loadavg_.valid() ? ::pread(loadavg_.get(), text, sizeof text - 1, 0) : -1;
  if (n <= 0) return false;
  text[n] = '\0';
  char* p = text;
  for (int field = 0; field < 3 && p != nullptr; ++field) p = std::strchr(p + 1, ' ');
  return p != nullptr && std::strtol(p + 1, nullptr, 10) > cpus_;
}

void run_busy_polling(boost::asio::io_context& io, Duration window) {
  if (window <= Duration::zero()) {
    io.run();
    return;
  }
  using clock = std::chrono::steady_clock;
  SpinPolicy policy(window);
  CpuContention contention;
  auto next_check = clock::now();
  while (!io.stopped()) {
    if (io.poll() > 0) continue;  // handlers were ready: run them all first
    if (io.stopped()) return;
    auto now = clock::now();
    if (policy.should_spin(now) && now >= next_check) {
      next_check = now + std::chrono::milliseconds(1);  // a read of /proc costs microseconds
      if (contention.others_waiting()) policy.cpus_contended(now);
    }
    if (policy.should_spin(now)) {
      auto until = now + window;
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
