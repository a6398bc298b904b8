#include "supervisor/front_policy.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <utility>

namespace agentron {

FrontPolicy::FrontPolicy(Clock& clock, FrontActions& actions, const ProxyConfig& config)
    : clock_(clock),
      actions_(actions),
      queue_timeout_(config.queue_timeout),
      queue_limit_(static_cast<size_t>(std::max(0, config.queue_limit))),
      max_connections_(std::numeric_limits<long>::max()) {}

void FrontPolicy::limit_connections(long free_descriptors) {
  reserve_ = std::min(256L, free_descriptors / 2);
  max_connections_ = std::max(1L, (free_descriptors - reserve_) / 2);
}

void FrontPolicy::set_active(int port) {
  active_port_ = port;
  auto waiting = std::exchange(waiting_, {});
  for (FrontConnectionId id : waiting) {
    auto it = open_.find(id);
    if (it == open_.end()) continue;
    it->second.queued = false;
    it->second.wait.reset();
    dispatch(id, it->second);
  }
}

void FrontPolicy::clear_active() { active_port_ = 0; }

void FrontPolicy::drain(int port, Duration timeout, std::function<void()> done) {
  Timer expiry = clock_.start_timer(timeout, [this, port] { drain_expired(port); });
  drains_.push_back({port, std::move(expiry), std::move(done)});
  finish_drains();
}

void FrontPolicy::accepted(FrontConnectionId id) {
  auto [it, inserted] = open_.try_emplace(id);
  if (!inserted) return;
  it->second.accepted_at = clock_.now();
  dispatch(id, it->second);
}

void FrontPolicy::connect_failed(FrontConnectionId id) {
  auto it = open_.find(id);
  if (it == open_.end()) return;
  leave_port(it->second);
  // The instance went away between its last "ready" and this connect (a crash the
  // supervisor is about to see): try again shortly — by then the connection waits for
  // the next ready instance — rather than fail the client, within queue_timeout.
  retry_later(id, it->second);
}

void FrontPolicy::upstream_lost(FrontConnectionId id) {
  auto it = open_.find(id);
  if (it == open_.end()) return;
  leave_port(it->second);
  if (++it->second.replays > kMaxReplays) return actions_.close(id);
  retry_later(id, it->second);
}

void FrontPolicy::closed(FrontConnectionId id) {
  auto it = open_.find(id);
  if (it == open_.end()) return;
  if (it->second.queued) std::erase(waiting_, id);
  int port = it->second.port;
  open_.erase(it);  // and with it, its timer
  if (port != 0) --per_port_[port];
  if (paused_ && static_cast<long>(open_.size()) < max_connections_) {
    paused_ = false;
    actions_.accept_again();
  }
  if (port != 0) finish_drains();
}

bool FrontPolicy::may_accept() {
  if (static_cast<long>(open_.size()) < max_connections_) return true;
  paused_ = true;
  return false;
}

void FrontPolicy::accept_failed() {
  accept_retry_ = clock_.start_timer(kAcceptRetry, [this] { actions_.accept_again(); });
}

void FrontPolicy::shut_down() {
  drains_.clear();
  accept_retry_.reset();
  paused_ = false;
  waiting_.clear();
  for (auto& [id, c] : open_) {
    c.queued = false;
    c.wait.reset();
  }
}

std::map<int, long> FrontPolicy::connections_per_port() const {
  std::map<int, long> open;
  for (const auto& [port, n] : per_port_) {
    if (n > 0) open.emplace(port, n);
  }
  return open;
}

long FrontPolicy::waiting() const {
  long connected = std::accumulate(per_port_.begin(), per_port_.end(), 0L,
                                   [](long sum, const auto& entry) { return sum + entry.second; });
  return static_cast<long>(open_.size()) - connected;
}

// The actions come last: a connect that fails at once is back in connect_failed, and
// a close in closed(), before they return — the connection may be gone after them.
void FrontPolicy::dispatch(FrontConnectionId id, Connection& c) {
  if (active_port_ == 0) return enqueue(id, c);
  c.port = active_port_;
  ++per_port_[c.port];
  actions_.connect(id, c.port);
}

// No instance is ready: it waits, at most queue_timeout from its accept.
void FrontPolicy::enqueue(FrontConnectionId id, Connection& c) {
  if (waiting_.size() >= queue_limit_) return refuse(id);
  Duration left = queue_timeout_ - (clock_.now() - c.accepted_at);
  c.queued = true;
  waiting_.push_back(id);
  c.wait = clock_.start_timer(left, [this, id] {
    std::erase(waiting_, id);
    open_.at(id).queued = false;
    refuse(id);
  });
}

void FrontPolicy::retry_later(FrontConnectionId id, Connection& c) {
  if (clock_.now() - c.accepted_at >= queue_timeout_) return refuse(id);
  c.wait = clock_.start_timer(kConnectRetry, [this, id] { dispatch(id, open_.at(id)); });
}

void FrontPolicy::refuse(FrontConnectionId id) {
  ++refused_;
  actions_.close(id);
}

void FrontPolicy::leave_port(Connection& c) {
  if (c.port == 0) return;
  --per_port_[c.port];
  c.port = 0;
  finish_drains();
}

void FrontPolicy::drain_expired(int port) {
  std::vector<FrontConnectionId> left;
  for (const auto& [id, c] : open_) {
    if (c.port == port) left.push_back(id);
  }
  if (!left.empty()) actions_.drain_timed_out(port, left.size());
  for (FrontConnectionId id : left) actions_.close(id);  // the last one's closed() ends the drain
}

// Ends every drain whose port has no connection left. A `done` may start another drain.
void FrontPolicy::finish_drains() {
  for (size_t i = 0; i < drains_.size();) {
    if (open_to(drains_[i].port) > 0) {
      ++i;
      continue;
    }
    Drain d = std::move(drains_[i]);
    drains_.erase(drains_.begin() + static_cast<long>(i));
    d.timeout.reset();
    if (d.done) d.done();
  }
}

long FrontPolicy::open_to(int port) const {
  auto it = per_port_.find(port);
  return it == per_port_.end() ? 0 : it->second;
}

}  // namespace agentron
