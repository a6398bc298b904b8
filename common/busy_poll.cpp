#include "common/busy_poll.h"

#include <fcntl.h>
#include <sched.h>

#include <algorithm>
#include <charconv>
#include <chrono>

namespace agentron {

ProcCpuLoad::ProcCpuLoad() : loadavg_(::open("/proc/loadavg", O_RDONLY | O_CLOEXEC)) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) cpus_ = std::max(1, CPU_COUNT(&set));
}

std::optional<int> ProcCpuLoad::runnable_threads() const {
  char text[128];
  ssize_t n = loadavg_.valid() ? ::pread(loadavg_.get(), text, sizeof text, 0) : -1;
  if (n <= 0) return std::nullopt;
  return parse_runnable_threads(std::string_view(text, static_cast<size_t>(n)));
}

std::optional<int> parse_runnable_threads(std::string_view loadavg) {
  // "0.52 0.58 0.59 3/467 12345": the fourth field is runnable/all.
  size_t at = 0;
  for (int field = 0; field < 3; ++field) {
    at = loadavg.find(' ', at);
    if (at == std::string_view::npos) return std::nullopt;
    ++at;
  }
  int runnable = 0;
  auto [end, ec] = std::from_chars(loadavg.data() + at, loadavg.data() + loadavg.size(), runnable);
  if (ec != std::errc() || end == loadavg.data() + loadavg.size() || *end != '/') return std::nullopt;
  return runnable;
}

bool others_wait_for_a_cpu(const CpuLoad& load) {
  auto runnable = load.runnable_threads();
  return runnable && *runnable > load.usable_cpus();
}

void run_busy_polling(boost::asio::io_context& io, Duration window) { run_busy_polling(io, window, ProcCpuLoad()); }

void run_busy_polling(boost::asio::io_context& io, Duration window, const CpuLoad& load) {
  if (window <= Duration::zero()) {
    io.run();
    return;
  }
  using clock = std::chrono::steady_clock;
  SpinPolicy policy(window);
  auto next_check = clock::now();
  while (!io.stopped()) {
    if (io.poll() > 0) continue;  // handlers were ready: run them all first
    if (io.stopped()) return;
    auto now = clock::now();
    if (policy.should_spin(now) && now >= next_check) {
      next_check = now + std::chrono::milliseconds(1);  // a read of /proc costs microseconds
      if (others_wait_for_a_cpu(load)) policy.cpus_contended(now);
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
