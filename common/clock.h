// Time as the state machines see it. The supervisor never calls sleep or reads the
// clock directly: it asks a Clock, so tests drive time with FakeClock::advance().
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <utility>

#include "common/duration.h"

namespace agentron {

using TimePoint = std::chrono::steady_clock::time_point;
using WallTimePoint = std::chrono::system_clock::time_point;

// A pending one-shot callback. Cancelled when reset or destroyed, so an owner that
// goes away can never be called back. Move-only.
class Timer {
 public:
  Timer() = default;
  explicit Timer(std::function<void()> cancel) : cancel_(std::move(cancel)) {}
  Timer(Timer&& other) noexcept : cancel_(std::exchange(other.cancel_, nullptr)) {}
  Timer& operator=(Timer&& other) noexcept {
    if (this != &other) {
      reset();
      cancel_ = std::exchange(other.cancel_, nullptr);
    }
    return *this;
  }
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;
  ~Timer() { reset(); }

  void reset() {
    if (cancel_) std::exchange(cancel_, nullptr)();
  }
  bool armed() const { return static_cast<bool>(cancel_); }

 private:
  std::function<void()> cancel_;
};

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
  // The time of day, for what people read (a start time in status): never for timeouts.
  virtual WallTimePoint wall_now() const = 0;
  // Calls fn once, on the event loop, after d — unless the Timer is reset first.
  virtual Timer start_timer(Duration d, std::function<void()> fn) = 0;
};

}  // namespace agentron
