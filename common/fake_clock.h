// A Clock for tests: time stands still until advance() moves it, firing due timers
// in deadline order. Header-only so both unit tests and benches can use it.
#pragma once

#include <algorithm>
#include <memory>
#include <vector>

#include "common/clock.h"

namespace agentron {

class FakeClock : public Clock {
 public:
  TimePoint now() const override { return now_; }
  // 2026-01-01T00:00:00Z at now() == TimePoint{}; advance() moves both.
  WallTimePoint wall_now() const override {
    return WallTimePoint(std::chrono::seconds(1767225600)) +
           std::chrono::duration_cast<WallTimePoint::duration>(now_ - TimePoint{});
  }

  Timer start_timer(Duration d, std::function<void()> fn) override {
    auto entry = std::make_shared<Entry>(Entry{now_ + d, next_seq_++, std::move(fn), false});
    entries_.push_back(entry);
    std::weak_ptr<Entry> weak = entry;
    return Timer([weak] {
      if (auto e = weak.lock()) e->cancelled = true;
    });
  }

  // Moves time forward by d, running every timer that falls due, in order; a timer
  // started by a callback runs too if it falls due within d.
  void advance(Duration d) {
    TimePoint target = now_ + d;
    while (auto next = pop_due(target)) {
      now_ = std::max(now_, next->deadline);
      next->fn();
    }
    now_ = target;
  }

  // Number of timers still armed (not fired, not cancelled).
  size_t pending() const {
    return static_cast<size_t>(
        std::count_if(entries_.begin(), entries_.end(), [](const auto& e) { return !e->cancelled; }));
  }

 private:
  struct Entry {
    TimePoint deadline;
    unsigned long seq;
    std::function<void()> fn;
    bool cancelled;
  };

  std::shared_ptr<Entry> pop_due(TimePoint target) {
    std::erase_if(entries_, [](const auto& e) { return e->cancelled; });
    auto it = std::min_element(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
      return a->deadline != b->deadline ? a->deadline < b->deadline : a->seq < b->seq;
    });
    if (it == entries_.end() || (*it)->deadline > target) return nullptr;
    auto entry = *it;
    entries_.erase(it);
    entry->cancelled = true;  // fired
    return entry;
  }

  TimePoint now_{std::chrono::hours(1)};
  unsigned long next_seq_ = 0;
  std::vector<std::shared_ptr<Entry>> entries_;
};

}  // namespace agentron
