#include "supervisor/restart_policy.h"

#include <cmath>

namespace agentron {

RestartDecision RestartPolicy::on_exit(TimePoint now, Duration uptime, const std::string& what, bool clean_exit) {
  using Kind = RestartDecision::Kind;
  if (config_.policy == RestartPolicyKind::never) {
    return {Kind::stay_stopped, Duration(0), what + "; [restart] policy is never"};
  }
  if (config_.policy == RestartPolicyKind::on_failure && clean_exit) {
    return {Kind::stay_stopped, Duration(0), what + " (a clean exit); [restart] policy is on-failure"};
  }
  if (uptime >= config_.stable_after) consecutive_ = 0;

  while (!recent_restarts_.empty() && now - recent_restarts_.front() >= config_.restart_window) {
    recent_restarts_.pop_front();
  }
  if (static_cast<int>(recent_restarts_.size()) >= config_.max_restarts) {
    return {Kind::give_up, Duration(0),
            what + " after " + std::to_string(recent_restarts_.size()) + " restarts within " +
                format_duration(config_.restart_window) +
                " ([restart] max_restarts = " + std::to_string(config_.max_restarts) + ")"};
  }

  double scaled = static_cast<double>(config_.backoff_initial.count()) * std::pow(config_.backoff_factor, consecutive_);
  Duration delay = scaled >= static_cast<double>(config_.backoff_max.count())
                       ? config_.backoff_max
                       : Duration(static_cast<Duration::rep>(scaled));
  ++consecutive_;
  ++total_restarts_;
  recent_restarts_.push_back(now);
  return {Kind::restart, delay, ""};
}

void RestartPolicy::reset() {
  recent_restarts_.clear();
  consecutive_ = 0;
}

}  // namespace agentron
