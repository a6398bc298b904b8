// Tries a Probe every `interval` until it passes or `timeout` (counted from the
// start) runs out. Tries never overlap: the next one is scheduled when the last one
// answered. Time comes from a Clock, so tests drive it with FakeClock::advance().
#pragma once

#include <memory>
#include <string>

#include "common/clock.h"
#include "healthcheck/probe.h"

namespace agentron {

class ReadinessWaiter {
 public:
  // `done` is called once: ok when a try passed, else an error naming the timeout
  // and the last try's failure. Destroying the waiter cancels it (no call).
  ReadinessWaiter(Clock& clock, std::unique_ptr<Probe> probe, Duration interval, Duration timeout, Probe::Done done);

  int tries() const { return tries_; }
  const std::string& last_failure() const { return last_failure_; }

 private:
  void try_now();
  void finish(Status status);

  Clock& clock_;
  std::unique_ptr<Probe> probe_;
  Duration interval_;
  Duration timeout_;
  Probe::Done done_;
  int tries_ = 0;
  std::string last_failure_;
  Timer deadline_;
  Timer next_try_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace agentron
