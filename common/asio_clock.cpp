#include "common/asio_clock.h"

#include <boost/asio/steady_timer.hpp>

namespace agentron {
namespace {

struct PendingTimer {
  explicit PendingTimer(boost::asio::io_context& io) : timer(io) {}
  boost::asio::steady_timer timer;
  // steady_timer::cancel() cannot recall a handler that already expired and is
  // queued (it then runs with success), so cancellation is also a flag.
  bool cancelled = false;
};

}  // namespace

Timer AsioClock::start_timer(Duration d, std::function<void()> fn) {
  auto pending = std::make_shared<PendingTimer>(io_);
  pending->timer.expires_after(d);
  pending->timer.async_wait([pending, fn = std::move(fn)](const boost::system::error_code& ec) {
    if (ec || pending->cancelled) return;
    pending->cancelled = true;  // fired: a later reset() is a no-op
    fn();
  });
  std::weak_ptr<PendingTimer> weak = pending;
  return Timer([weak] {
    if (auto p = weak.lock()) {
      p->cancelled = true;
      p->timer.cancel();
    }
  });
}

}  // namespace agentron
