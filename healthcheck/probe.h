// One readiness try, asynchronous: http (GET → 2xx), tcp (connect), record (the
// verification file appears and names the instance). A Probe runs on the event loop
// and never blocks it; each try is bounded by the probe's own short timeout.
#pragma once

#include <functional>
#include <memory>

#include "common/result.h"

namespace agentron {

class Probe {
 public:
  using Done = std::function<void(Status)>;
  virtual ~Probe() = default;
  // Starts one try; `done` is called once, on the loop, with ok or why not — always
  // later, never from inside try_once(), and never after the Probe is destroyed.
  virtual void try_once(Done done) = 0;
};

// Wraps `done` so that it is dropped once `owner` is gone: for Asio handlers that
// may still run after the Probe that started them was destroyed.
inline Probe::Done while_alive(const std::shared_ptr<int>& owner, Probe::Done done) {
  return [alive = std::weak_ptr<int>(owner), done = std::move(done)](Status s) {
    if (alive.lock()) done(std::move(s));
  };
}

}  // namespace agentron
