// One connection through the front ([proxy], supervisor/tcp_front.h): a client's
// socket and, once dispatched, its upstream to an instance, with the bytes moved both
// ways.
//
// Its sockets are not Asio's: both are registered once with the front loop's own
// edge-triggered epoll set, and the loop hands each event to on_event. Asio's reads
// cost a third system call per message — after each read it tries again and finds
// nothing — where this costs one read and one write.
//
// Each direction has one fixed buffer: nothing more is read from one side until the
// other took what was read, so a slow reader slows its writer (TCP backpressure) and
// memory stays bounded. A FIN is passed on as a half-close.
//
// A request the instance never answered — it died first, or was not there — is sent
// again to the next instance if it is safe to: an idempotent method (GET, HEAD),
// nothing of an answer passed on yet, and the whole request still held (at most one
// buffer) — as often as the front's policy allows (FrontPolicy::kMaxReplays). Anything
// else is closed, as the client would see it without the front; so is a client that
// closed without sending anything (a browser's preconnect, a port check): there is
// nothing to send again.
//
// Where it connects, and when it is tried again or given up on, is the policy's
// (supervisor/front_policy.h); the connection only reports what happened, to its owner.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "common/unique_fd.h"
#include "supervisor/front_policy.h"

namespace agentron {

class FrontConnection;

// What a connection needs from the loop that owns it (FrontLoop).
class FrontConnectionOwner {
 public:
  virtual ~FrontConnectionOwner() = default;
  // The epoll set the connection's sockets are registered with.
  virtual int epoll_fd() = 0;
  // It closed: the owner lets go of it — not before the batch of events that may
  // still name it is through.
  virtual void connection_closed(FrontConnectionId c) = 0;
  // Its connect failed (its upstream is closed): it is to be dispatched again, or given up.
  virtual void connect_failed(FrontConnectionId c) = 0;
  // Its instance went away unanswered and the request is safe to send again (its
  // upstream is closed, the request held): it is to be dispatched again, or given up.
  virtual void upstream_lost(FrontConnectionId c) = 0;
};

class FrontConnection {
 public:
  enum Which : std::uintptr_t { kClient = 0, kUpstream = 1 };

  // `id` names it to its owner.
  FrontConnection(FrontConnectionId id, UniqueFd client, size_t buffer, FrontConnectionOwner& owner);

  // The connection and socket an epoll event's data names.
  static std::pair<FrontConnection*, Which> from_token(std::uint64_t token);

  FrontConnectionId id() const { return id_; }

  // Registers the client's socket with the owner's epoll set. False: the set is full.
  bool watch_client();
  // Connects to 127.0.0.1:port; bytes move once it is connected.
  void connect(int port);
  // An epoll event for one of its sockets.
  void on_event(Which which, std::uint32_t events);
  // Closes both sockets and tells the owner. Idempotent.
  void close();

 private:
  // One socket, as edge-triggered epoll reports it: an event sets readable/writable; a
  // read or write that finds the socket empty or full clears them.
  struct Side {
    UniqueFd fd;
    bool readable = false;
    bool writable = false;
    bool hung_up = false;  // the peer closed or failed: read to the end, a short read is not it
  };

  // One direction: bytes [start, end) read from one side and not yet written to the other.
  struct Pipe {
    explicit Pipe(size_t size) : data(new char[size]) {}  // not zeroed: a connection per request must not pay for it
    size_t pending() const { return end - start; }
    void reset() {
      start = end = 0;
      eof = shut = false;
    }

    std::unique_ptr<char[]> data;
    size_t start = 0;
    size_t end = 0;
    bool eof = false;   // the reading side sent its FIN
    bool shut = false;  // and it was passed on: the writing side was shut down
  };

  bool watch(Side& side, Which which);
  void forget(Side& side);
  void connected();
  void pump();
  bool move(Pipe& pipe, Side& from, Side& to, Which reading);
  bool failed(Which which);
  void remember(size_t n);
  void connect_failed();
  void drop_upstream();
  void upstream_lost();

  FrontConnectionId id_;
  Side client_;
  Side upstream_;
  size_t size_;
  Pipe to_upstream_;
  Pipe to_client_;
  FrontConnectionOwner& owner_;
  std::string sent_;  // the request so far, while it may be replayed
  bool connecting_ = false;
  bool replayable_ = true;
  bool answered_ = false;
  bool closed_ = false;
};

}  // namespace agentron
