// The crash restart policy of [restart]: exponential backoff, its reset after a
// stable run, and the cap on restarts within a window. Pure: time comes in as
// arguments, so the whole policy is tested without a clock.
#pragma once

#include <deque>
#include <string>

#include "common/clock.h"
#include "config/config.h"
#include "launcher/process.h"

namespace agentron {

struct RestartDecision {
  enum class Kind {
    restart,       // start again after `delay`
    stay_stopped,  // the policy does not restart this exit (never, or a clean exit)
    give_up,       // too many restarts within the window: state "failed"
  };
  Kind kind;
  Duration delay{0};
  std::string reason;  // for stay_stopped and give_up
};

class RestartPolicy {
 public:
  explicit RestartPolicy(RestartConfig config) : config_(config) {}

  // Takes effect from the next exit on; the history of restarts is kept.
  void set_config(RestartConfig config) { config_ = config; }

  // An instance that ran for `uptime` ended on its own (not by a requested stop)
  // with `status` at `now`. `what` describes the exit for the reason text.
  RestartDecision on_exit(TimePoint now, Duration uptime, const std::string& what, bool clean_exit);

  // Forgets past restarts (an operator started the app again by hand).
  void reset();

  int total_restarts() const { return total_restarts_; }

 private:
  RestartConfig config_;
  std::deque<TimePoint> recent_restarts_;  // within restart_window of the last exit
  int consecutive_ = 0;                    // restarts since the last stable run
  int total_restarts_ = 0;
};

}  // namespace agentron
