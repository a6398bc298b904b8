// The real Clock: steady_clock time and Asio timers on the supervisor's event loop.
#pragma once

#include <boost/asio/io_context.hpp>

#include "common/clock.h"

namespace agentron {

class AsioClock : public Clock {
 public:
  explicit AsioClock(boost::asio::io_context& io) : io_(io) {}
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  WallTimePoint wall_now() const override { return std::chrono::system_clock::now(); }
  Timer start_timer(Duration d, std::function<void()> fn) override;

 private:
  boost::asio::io_context& io_;
};

}  // namespace agentron
