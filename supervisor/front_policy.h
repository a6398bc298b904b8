// The front's decisions ([proxy], supervisor/tcp_front.h), apart from its I/O: which
// instance a new connection goes to, whether it waits for one and until when, when a
// failed connect is tried again, how often an unanswered request is sent again, when a
// drain ends, and when accepting pauses and resumes.
//
// It has no sockets. The front's loop (FrontLoop) tells it what happened to a
// connection, and it answers through FrontActions: per connection, never per forwarded
// message — the bytes move in FrontConnection without asking it. Its waits are timers
// of a Clock, so tests drive them with FakeClock::advance (front_policy_test.cpp).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "config/config.h"

namespace agentron {

// A connection, as FrontLoop numbers them.
using FrontConnectionId = std::uint64_t;

// What the policy has the front's I/O do (FrontLoop; a recorder in the tests). Each may
// call back into the policy before it returns (a connect that fails at once).
class FrontActions {
 public:
  virtual ~FrontActions() = default;
  // Connect c to 127.0.0.1:port and forward its bytes.
  virtual void connect(FrontConnectionId c, int port) = 0;
  // Close c: refused (no instance in time, the queue full), its replays spent, or left
  // over from a drain.
  virtual void close(FrontConnectionId c) = 0;
  // Accepting may go on: below the cap again, or an accept error's pause is over.
  virtual void accept_again() = 0;
  // A drain's timeout came with `left` connections still open to `port`: they close next.
  virtual void drain_timed_out(int port, size_t left) = 0;
};

class FrontPolicy {
 public:
  // A failed connect (the instance went away since its last "ready") is tried again
  // this much later, until queue_timeout after the accept.
  static constexpr Duration kConnectRetry = std::chrono::milliseconds(20);
  // An accept error (out of descriptors or memory) pauses accepting this long: at once
  // it would spin on the same error.
  static constexpr Duration kAcceptRetry = std::chrono::milliseconds(100);
  // An instance that closes the same GET unanswered again and again is not crashing:
  // the client gets the close after this many replays.
  static constexpr int kMaxReplays = 3;

  // Uses config's queue_timeout and queue_limit. No cap on connections until
  // limit_connections. `clock` and `actions` outlive the policy.
  FrontPolicy(Clock& clock, FrontActions& actions, const ProxyConfig& config);

  // The cap on open connections, from the descriptors this process may still open:
  // the front never takes the last ones — the control socket, the history, logs, a
  // handover's second instance need theirs — so half of them (at most 256) stay in
  // reserve, and each connection takes two of the rest.
  void limit_connections(long free_descriptors);
  long max_connections() const { return max_connections_; }
  long reserved_descriptors() const { return reserve_; }

  // --- From the daemon (through TcpFront) ---

  // New connections, and those waiting, go to `port` from now on. REQUIRES: port > 0.
  void set_active(int port);
  // No instance is ready: new connections wait, up to queue_timeout after their accept.
  void clear_active();
  int active_port() const { return active_port_; }
  // Connections to `port` may finish; those still open after `timeout` are closed.
  // `done` runs once none is left — at once if none is open.
  void drain(int port, Duration timeout, std::function<void()> done);

  // --- From the I/O, per connection ---

  // c was accepted now: it is connected to the active instance, waits for one, or is
  // closed (queue_limit connections already wait).
  void accepted(FrontConnectionId c);
  // c's connect failed: it is dispatched again after kConnectRetry, or closed once
  // queue_timeout has passed since its accept.
  void connect_failed(FrontConnectionId c);
  // c's instance went away before answering and the request may be sent again: it is,
  // like a failed connect, unless it was already kMaxReplays times (then c is closed).
  void upstream_lost(FrontConnectionId c);
  // c closed, whoever closed it. Unknown ids are ignored.
  void closed(FrontConnectionId c);

  // --- Accepting ---

  // Whether one more connection may be accepted now. False at the cap: the I/O stops
  // accepting, and accept_again comes once a connection closes.
  bool may_accept();
  // Accepting failed: accept_again comes after kAcceptRetry.
  void accept_failed();

  // The front closes: drains are dropped (their `done` never runs), and no timer of the
  // policy fires again. Connections closed after this still report closed().
  void shut_down();

  // For status: open connections per instance port (none at 0), those not connected
  // to any (waiting, or between connect tries), and those refused so far.
  std::map<int, long> connections_per_port() const;
  long waiting() const;
  long long refused() const { return refused_; }

 private:
  struct Connection {
    TimePoint accepted_at;
    int port = 0;  // the instance it is connected (or connecting) to; 0: none
    int replays = 0;
    bool queued = false;  // in waiting_
    Timer wait;           // its queue_timeout, or its next connect try
  };
  struct Drain {
    int port;
    Timer timeout;
    std::function<void()> done;
  };

  void dispatch(FrontConnectionId id, Connection& c);
  void enqueue(FrontConnectionId id, Connection& c);
  void retry_later(FrontConnectionId id, Connection& c);
  void refuse(FrontConnectionId id);
  void leave_port(Connection& c);
  void drain_expired(int port);
  void finish_drains();
  long open_to(int port) const;

  Clock& clock_;
  FrontActions& actions_;
  Duration queue_timeout_;
  size_t queue_limit_;
  long reserve_ = 0;
  long max_connections_;
  bool paused_ = false;  // may_accept said no: accept_again is owed when one closes
  Timer accept_retry_;
  int active_port_ = 0;
  std::unordered_map<FrontConnectionId, Connection> open_;
  std::deque<FrontConnectionId> waiting_;  // for an active instance, oldest first
  // Connected (or connecting) per instance port. A port stays at 0 when its last one
  // closes: instance ports come from the small instance_ports range, and a connection
  // per request then costs no map node.
  std::map<int, long> per_port_;
  std::vector<Drain> drains_;
  long long refused_ = 0;
};

}  // namespace agentron
