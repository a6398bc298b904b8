#include "supervisor/front_connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string_view>

namespace agentron {
namespace {

// What the front writes is what it just read: holding it back (Nagle) only delays it.
void send_at_once(int socket) {
  int one = 1;
  ::setsockopt(socket, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

}  // namespace

FrontConnection::FrontConnection(FrontConnectionId id, UniqueFd client, size_t buffer, FrontConnectionOwner& owner)
    : id_(id), size_(buffer), to_upstream_(buffer), to_client_(buffer), owner_(owner) {
  client_.fd = std::move(client);
  send_at_once(client_.fd.get());
}

// An epoll event's data: the connection's address, and in its low bit (free: the
// object is aligned) which of its sockets.
std::pair<FrontConnection*, FrontConnection::Which> FrontConnection::from_token(std::uint64_t token) {
  static_assert(alignof(FrontConnection) > 1);
  auto bits = static_cast<std::uintptr_t>(token);
  return {reinterpret_cast<FrontConnection*>(bits & ~std::uintptr_t{1}), static_cast<Which>(bits & 1)};
}

bool FrontConnection::watch(Side& side, Which which) {
  epoll_event event{};
  event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  event.data.u64 = reinterpret_cast<std::uintptr_t>(this) | which;
  return ::epoll_ctl(owner_.epoll_fd(), EPOLL_CTL_ADD, side.fd.get(), &event) == 0;
}

bool FrontConnection::watch_client() { return watch(client_, kClient); }

// Out of the epoll set, then closed. Closing alone would not do: a child being spawned
// holds every descriptor until its exec, and while it does, events would still come.
void FrontConnection::forget(Side& side) {
  if (side.fd.valid()) ::epoll_ctl(owner_.epoll_fd(), EPOLL_CTL_DEL, side.fd.get(), nullptr);
  side = Side{};
}

void FrontConnection::connect(int port) {
  upstream_.fd.reset(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!upstream_.fd.valid()) return connect_failed();
  send_at_once(upstream_.fd.get());
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = ::connect(upstream_.fd.get(), reinterpret_cast<const sockaddr*>(&to), sizeof to);
  if ((rc != 0 && errno != EINPROGRESS) || !watch(upstream_, kUpstream)) return connect_failed();
  connecting_ = rc != 0;
  if (!connecting_) connected();
}

void FrontConnection::on_event(Which which, std::uint32_t events) {
  if (closed_) return;
  Side& side = which == kClient ? client_ : upstream_;
  if (!side.fd.valid()) return;  // its upstream was closed for a replay earlier in this batch
  if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) side.hung_up = true;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) side.readable = true;
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) side.writable = true;
  if (which == kUpstream && connecting_) {
    int error = 0;
    socklen_t length = sizeof error;
    ::getsockopt(upstream_.fd.get(), SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0 || (events & (EPOLLHUP | EPOLLERR))) return connect_failed();
    if (!(events & EPOLLOUT)) return;  // not connected yet
    connecting_ = false;
    return connected();
  }
  pump();
}

void FrontConnection::close() {
  if (closed_) return;
  closed_ = true;
  forget(client_);
  forget(upstream_);
  owner_.connection_closed(id_);
}

void FrontConnection::connected() {
  if (!sent_.empty()) {  // a replay: what the client sent, again, to this instance
    std::memcpy(to_upstream_.data.get(), sent_.data(), sent_.size());
    to_upstream_.start = 0;
    to_upstream_.end = sent_.size();
  }
  pump();
}

void FrontConnection::pump() {
  if (connecting_ || !upstream_.fd.valid()) return;  // not dispatched yet: the client's bytes wait in its socket
  if (!move(to_upstream_, client_, upstream_, kClient)) return;
  if (!move(to_client_, upstream_, client_, kUpstream)) return;
  if (to_upstream_.shut && to_client_.shut) close();
}

// Moves what `from` has to `to` through `pipe`, as far as the sockets allow.
// False when the connection failed (closed, or its upstream lost).
bool FrontConnection::move(Pipe& pipe, Side& from, Side& to, Which reading) {
  for (;;) {
    if (pipe.pending() > 0) {
      if (!to.writable) return true;
      ssize_t n = ::send(to.fd.get(), pipe.data.get() + pipe.start, pipe.pending(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno != EAGAIN) return failed(reading == kClient ? kUpstream : kClient);
      if (n > 0) pipe.start += static_cast<size_t>(n);
      if (pipe.pending() > 0) {
        to.writable = false;  // its send buffer is full: wait for EPOLLOUT (the reader's backpressure)
        return true;
      }
      pipe.start = pipe.end = 0;
    }
    if (pipe.shut) return true;
    if (pipe.eof) {
      ::shutdown(to.fd.get(), SHUT_WR);
      pipe.shut = true;
      return true;
    }
    if (!from.readable) return true;
    ssize_t n = ::recv(from.fd.get(), pipe.data.get(), size_, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      from.readable = false;
      return true;
    }
    if (n < 0) return failed(reading);
    if (n == 0) {
      from.readable = false;
      if (reading == kUpstream && !answered_) return failed(kUpstream);  // closed unanswered
      pipe.eof = true;
      continue;
    }
    auto got = static_cast<size_t>(n);
    // A read shorter than the buffer emptied the socket: the next bytes bring an event.
    if (got < size_ && !from.hung_up) from.readable = false;
    pipe.end = got;
    if (reading == kClient) {
      remember(got);
    } else {
      answered_ = true;
      sent_.clear();  // answered: never replayed
    }
  }
}

// A socket failed: a reset of the client, or a write error on it, closes; on the
// upstream side, an instance that went away unanswered may get the request again.
bool FrontConnection::failed(Which which) {
  if (which == kUpstream && !answered_) {
    upstream_lost();
  } else {
    close();
  }
  return false;
}

// Keeps a copy of the request (the n bytes just read) while it may be replayed.
void FrontConnection::remember(size_t n) {
  if (!replayable_ || answered_) return;
  if (sent_.empty()) {
    std::string_view head(to_upstream_.data.get(), n);
    replayable_ = head.starts_with("GET ") || head.starts_with("HEAD ");
  }
  if (replayable_ && sent_.size() + n <= size_) {
    sent_.append(to_upstream_.data.get(), n);
  } else {
    replayable_ = false;
    sent_.clear();
  }
}

// For a refused connect — the instance went away since its last "ready" — this is no
// replay: the owner dispatches it again as it is.
void FrontConnection::connect_failed() {
  drop_upstream();
  owner_.connect_failed(id_);
}

void FrontConnection::drop_upstream() {
  forget(upstream_);
  connecting_ = false;
}

// The instance went away before answering (perhaps before the request even came).
void FrontConnection::upstream_lost() {
  bool nothing_to_send = to_upstream_.eof && sent_.empty();
  if (!replayable_ || answered_ || nothing_to_send) return close();
  bool client_eof = to_upstream_.eof;
  to_upstream_.reset();           // connected() puts the request back from sent_
  to_upstream_.eof = client_eof;  // and the client's FIN is passed on again
  to_client_.reset();
  drop_upstream();
  owner_.upstream_lost(id_);
}

}  // namespace agentron
