#include "healthcheck/readiness_waiter.h"

namespace agentron {

ReadinessWaiter::ReadinessWaiter(Clock& clock, std::unique_ptr<Probe> probe, Duration interval, Duration timeout,
                                 Probe::Done done)
    : clock_(clock), probe_(std::move(probe)), interval_(interval), timeout_(timeout), done_(std::move(done)) {
  deadline_ = clock_.start_timer(timeout_, [this] {
    std::string last = last_failure_.empty() ? "no try answered yet" : "last try: " + last_failure_;
    finish(Error{"not_ready", "not ready after " + format_duration(timeout_) + " (" + std::to_string(tries_) +
                                  " tries; " + last + ")"});
  });
  try_now();
}

void ReadinessWaiter::try_now() {
  ++tries_;
  probe_->try_once(while_alive(alive_, [this](Status s) {
    if (!done_) return;  // answered after the deadline
    if (s) return finish(ok_status());
    last_failure_ = s.error().message;
    next_try_ = clock_.start_timer(interval_, [this] { try_now(); });
  }));
}

void ReadinessWaiter::finish(Status status) {
  deadline_.reset();
  next_try_.reset();
  alive_ = std::make_shared<int>(0);  // a try still in flight is not heard any more
  auto done = std::move(done_);
  done_ = nullptr;
  if (done) done(std::move(status));
}

}  // namespace agentron
