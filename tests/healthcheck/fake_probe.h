// A Probe the test answers by hand: each try_once() waits in `pending` until the
// test calls answer().
#pragma once

#include <deque>
#include <memory>

#include "healthcheck/probe.h"

namespace agentron::testing {

struct ProbeLog {
  int tries = 0;
  std::deque<Probe::Done> pending;
  bool destroyed = false;

  // Answers the oldest waiting try. Returns false if none waits.
  bool answer(Status s) {
    if (pending.empty()) return false;
    auto done = std::move(pending.front());
    pending.pop_front();
    done(std::move(s));
    return true;
  }
};

class FakeProbe : public Probe {
 public:
  explicit FakeProbe(std::shared_ptr<ProbeLog> log) : log_(std::move(log)) {}
  ~FakeProbe() override {
    log_->destroyed = true;
    log_->pending.clear();  // a destroyed probe never answers
  }
  void try_once(Done done) override {
    ++log_->tries;
    log_->pending.push_back(std::move(done));
  }

 private:
  std::shared_ptr<ProbeLog> log_;
};

}  // namespace agentron::testing
