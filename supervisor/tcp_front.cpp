#include "supervisor/tcp_front.h"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <deque>
#include <filesystem>
#include <future>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/busy_poll.h"

namespace agentron {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class FrontConnection;

namespace {

// Descriptors this process may still open: RLIMIT_NOFILE less those open now.
long free_descriptors() {
  rlimit files{};
  ::getrlimit(RLIMIT_NOFILE, &files);
  long limit = files.rlim_cur == RLIM_INFINITY ? (1L << 20) : static_cast<long>(files.rlim_cur);
  long in_use = 0;
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) ++in_use;
  return std::max(0L, limit - in_use);
}

}  // namespace

// The front's work, all on its own thread's loop (TcpFront hands calls over to it).
class FrontLoop {
 public:
  FrontLoop(asio::io_context& io, const ProxyConfig& config)
      : io_(io), config_(config), acceptor_(io), accept_retry_(io) {}
  ~FrontLoop() { shut_down(); }

  // Binds [proxy] listen; an address in use is a clear error naming it.
  Status bind();
  void accept();
  // Stops accepting and closes every connection: the loop runs out of work.
  void shut_down();

  void set_active(int port, const std::string& instance_id);
  void clear_active();
  void drain(int port, Duration timeout, std::function<void()> done);
  nlohmann::json status() const;
  void set_priority_note(std::string note) { priority_ = std::move(note); }

  // For FrontConnection.
  void connection_closed(FrontConnection* c);
  void connect_failed(std::shared_ptr<FrontConnection> c);

 private:
  static constexpr int kAcceptBatch = 256;  // at most, per turn of the loop

  bool full() const { return static_cast<long>(open_.size()) >= max_connections_; }
  void pause_accepting();
  void take(tcp::socket socket);
  void accept_failed(const boost::system::error_code& ec);
  void dispatch(std::shared_ptr<FrontConnection> c);
  void flush_waiting();
  void check_drains();

  asio::io_context& io_;
  ProxyConfig config_;
  tcp::acceptor acceptor_;
  asio::steady_timer accept_retry_;
  bool accepting_ = false;  // an accept or its retry is pending
  long reserve_ = 0;        // descriptors kept for the supervisor's own work
  long max_connections_ = 0;
  long long limited_ = 0;  // times accepting paused at max_connections_
  long long accept_errors_ = 0;
  int active_port_ = 0;
  std::string active_instance_;
  std::unordered_map<FrontConnection*, std::shared_ptr<FrontConnection>> open_;
  std::deque<std::shared_ptr<FrontConnection>> waiting_;
  struct Drain {
    int port;
    std::shared_ptr<asio::steady_timer> timer;
    std::function<void()> done;
  };
  std::vector<Drain> drains_;
  long long accepted_ = 0;
  long long refused_ = 0;
  std::string priority_;
};

// One client connection and, once dispatched, its upstream to an instance.
//
// A request the instance never answered — it died first, or was not there — is sent
// again to the next instance if it is safe to: an idempotent method (GET, HEAD),
// nothing of an answer passed on yet, and the whole request still held (at most one
// buffer) — at most kMaxReplays times. Anything else is closed, as the client would
// see it without the front; so is a client that closed without sending anything (a
// browser's preconnect, a port check): there is nothing to send again.
class FrontConnection : public std::enable_shared_from_this<FrontConnection> {
 public:
  FrontConnection(asio::io_context& io, tcp::socket client, size_t buffer, FrontLoop& front)
      : client_(std::move(client)),
        upstream_(io),
        wait_timer_(io),
        // Not zeroed: a connection per request must not cost two memsets of `buffer`.
        size_(buffer),
        to_upstream_(new char[buffer]),
        to_client_(new char[buffer]),
        front_(front),
        accepted_at_(std::chrono::steady_clock::now()) {}

  int port() const { return port_; }
  std::chrono::steady_clock::time_point accepted_at() const { return accepted_at_; }
  asio::steady_timer& wait_timer() { return wait_timer_; }

  void connect(int port) {
    port_ = port;
    boost::system::error_code ignored;
    upstream_.close(ignored);  // after a failed try: a fresh socket
    auto self = shared_from_this();
    upstream_.async_connect(tcp::endpoint(asio::ip::address_v4::loopback(), static_cast<unsigned short>(port)),
                            [self, gen = generation_](const boost::system::error_code& ec) {
                              if (self->stale(gen)) return;
                              if (ec) return self->front_.connect_failed(self);
                              self->connected();
                            });
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ignored;
    wait_timer_.cancel();
    client_.close(ignored);
    upstream_.close(ignored);
    front_.connection_closed(this);
  }

 private:
  bool stale(unsigned gen) const { return closed_ || gen != generation_; }

  void connected() {
    // What the front writes is what it just read: holding it back (Nagle) only delays it.
    boost::system::error_code ignored;
    upstream_.set_option(tcp::no_delay(true), ignored);
    upstream_.non_blocking(true, ignored);  // forward() must never block the loop
    if (sent_.empty()) return start_pumps();
    // A replay: what the client sent, again, to this instance.
    auto self = shared_from_this();
    asio::async_write(upstream_, asio::buffer(sent_),
                      [self, gen = generation_](const boost::system::error_code& ec, size_t) {
                        if (self->stale(gen)) return;
                        if (ec) return self->upstream_failed();
                        self->start_pumps();
                      });
  }

  void start_pumps() {
    if (client_eof_) {
      boost::system::error_code ignored;
      upstream_.shutdown(tcp::socket::shutdown_send, ignored);
    } else {
      pump_to_upstream();
    }
    pump_to_client();
  }

  // client → upstream. Keeps a copy of the request while it may be replayed.
  void pump_to_upstream() {
    auto self = shared_from_this();
    client_.async_read_some(asio::buffer(to_upstream_.get(), size_),
                            [self, gen = generation_](const boost::system::error_code& ec, size_t n) {
                              if (self->stale(gen)) return;
                              if (ec) {
                                if (ec != asio::error::eof) return self->close();
                                self->client_eof_ = true;
                                boost::system::error_code ignored;
                                self->upstream_.shutdown(tcp::socket::shutdown_send, ignored);
                                return self->direction_done();
                              }
                              self->remember(n);
                              self->forward(self->upstream_, self->to_upstream_.get(), n, gen,
                                            [self](const boost::system::error_code& ec) {
                                              if (ec) return self->upstream_failed();
                                              self->pump_to_upstream();
                                            });
                            });
  }

  // upstream → client.
  void pump_to_client() {
    auto self = shared_from_this();
    upstream_.async_read_some(asio::buffer(to_client_.get(), size_),
                              [self, gen = generation_](const boost::system::error_code& ec, size_t n) {
                                if (self->stale(gen)) return;
                                if (ec) {
                                  if (!self->answered_) return self->upstream_failed();
                                  if (ec != asio::error::eof)
                                    return self->close();  // a reset: pass it on by closing both
                                  boost::system::error_code ignored;
                                  self->client_.shutdown(tcp::socket::shutdown_send, ignored);
                                  return self->direction_done();
                                }
                                self->answered_ = true;
                                self->sent_.clear();  // answered: never replayed
                                self->forward(self->client_, self->to_client_.get(), n, gen,
                                              [self](const boost::system::error_code& ec) {
                                                if (ec) return self->close();
                                                self->pump_to_client();
                                              });
                              });
  }

  // Writes data[0, n) to `to`, then runs `next` (not if the connection went stale).
  // Loopback sockets nearly always take it at once: written here, that saves a trip
  // through the loop per message; what they do not take is written asynchronously.
  template <typename Next>
  void forward(tcp::socket& to, const char* data, size_t n, unsigned gen, Next next) {
    boost::system::error_code ec;
    size_t written = to.write_some(asio::buffer(data, n), ec);
    if (ec == asio::error::would_block) ec.clear();
    if (ec || written == n) return next(ec);
    auto self = shared_from_this();
    asio::async_write(to, asio::buffer(data + written, n - written),
                      [self, gen, next](const boost::system::error_code& ec, size_t) {
                        if (self->stale(gen)) return;
                        next(ec);
                      });
  }

  void remember(size_t n) {
    if (!replayable_ || answered_) return;
    if (sent_.empty()) {
      std::string_view head(to_upstream_.get(), n);
      replayable_ = head.rfind("GET ", 0) == 0 || head.rfind("HEAD ", 0) == 0;
    }
    if (replayable_ && sent_.size() + n <= size_) {
      sent_.append(to_upstream_.get(), n);
    } else {
      replayable_ = false;
      sent_.clear();
    }
  }

  void direction_done() {
    if (++directions_done_ == 2) close();
  }

  // The instance went away before answering (perhaps before the request even came).
  void upstream_failed() {
    bool nothing_to_send = client_eof_ && sent_.empty();
    if (!replayable_ || answered_ || nothing_to_send || ++replays_ > kMaxReplays) return close();
    ++generation_;  // what is in flight on either socket is not ours any more
    boost::system::error_code ignored;
    client_.cancel(ignored);
    upstream_.close(ignored);
    port_ = 0;
    directions_done_ = client_eof_ ? 1 : 0;
    front_.connect_failed(shared_from_this());
  }

  // An instance that closes the same GET unanswered again and again is not crashing:
  // the client gets the close after this many tries.
  static constexpr int kMaxReplays = 3;

  tcp::socket client_;
  tcp::socket upstream_;
  asio::steady_timer wait_timer_;
  size_t size_;
  std::unique_ptr<char[]> to_upstream_;
  std::unique_ptr<char[]> to_client_;
  FrontLoop& front_;
  std::chrono::steady_clock::time_point accepted_at_;
  std::string sent_;  // the request so far, while it may be replayed
  unsigned generation_ = 0;
  int port_ = 0;
  int directions_done_ = 0;
  int replays_ = 0;
  bool replayable_ = true;
  bool answered_ = false;
  bool client_eof_ = false;
  bool closed_ = false;
};

Status FrontLoop::bind() {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(config_.listen_host, ec);
  if (ec) return Error{"bad_listen", "[proxy] listen: '" + config_.listen_host + "' is not an IP address"};
  tcp::endpoint endpoint(address, static_cast<unsigned short>(config_.listen_port));
  std::string where = config_.listen_host + ":" + std::to_string(config_.listen_port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) acceptor_.non_blocking(true, ec);
  if (ec == asio::error::address_in_use) {
    return Error{"listen_in_use", "[proxy] listen " + where +
                                      " is already in use by another program; stop it or choose another address"};
  }
  if (ec) return Error{"listen_failed", "[proxy] cannot listen on " + where + ": " + ec.message()};
  // The front never takes the last descriptors: the control socket, the history, logs,
  // a handover's second instance need theirs (out of them, `status` could not even
  // connect). Of what the limit leaves free now, half (at most 256) stays in reserve.
  long free = free_descriptors();
  reserve_ = std::min(256L, free / 2);
  max_connections_ = std::max(1L, (free - reserve_) / 2);
  return ok_status();
}

void FrontLoop::shut_down() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  accept_retry_.cancel();
  accepting_ = false;
  for (auto& d : drains_) d.timer->cancel();
  drains_.clear();
  auto all = open_;
  for (const auto& [raw, c] : all) c->close();
  waiting_.clear();
}

void FrontLoop::accept() {
  if (full()) return pause_accepting();
  accepting_ = true;
  acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) {
      accepting_ = false;
      return;
    }
    if (ec) return accept_failed(ec);
    take(std::move(socket));
    // Every connection already waiting, not one per turn of the loop (as libuv does):
    // a thousand clients connecting at once are not served seconds apart.
    for (int i = 0; i < kAcceptBatch && !full(); ++i) {
      boost::system::error_code again;
      tcp::socket next = acceptor_.accept(again);  // the acceptor is non-blocking
      if (again == asio::error::would_block) break;
      if (again) return accept_failed(again);
      take(std::move(next));
    }
    accept();
  });
}

void FrontLoop::pause_accepting() {
  accepting_ = false;
  if (limited_++ % 100 == 0) {
    spdlog::warn(
        "front: {} connections open, the most the open-files limit leaves room for (2 descriptors each, {} kept "
        "for the supervisor); more wait in the listen backlog until one closes. Raise the limit (LimitNOFILE=) "
        "for more",
        open_.size(), reserve_);
  }
}

void FrontLoop::take(tcp::socket socket) {
  ++accepted_;
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  socket.non_blocking(true, ignored);  // forward() must never block the loop
  auto c = std::make_shared<FrontConnection>(io_, std::move(socket), config_.buffer, *this);
  open_.emplace(c.get(), c);
  dispatch(c);
}

void FrontLoop::accept_failed(const boost::system::error_code& ec) {
  if (ec == asio::error::connection_aborted) return accept();  // that client gave up; the next
  // With the reserve this is rare: another process may have used the system's files.
  // Out of descriptors or memory (EMFILE, ENFILE, ENOBUFS): accepting again at once
  // would spin on the same error. Clients wait in the listen backlog meanwhile.
  if (accept_errors_++ % 100 == 0) {
    spdlog::warn("front: cannot accept connections: {} ({} time(s)); trying again every 100ms", ec.message(),
                 accept_errors_);
  }
  accept_retry_.expires_after(std::chrono::milliseconds(100));
  accept_retry_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) accept();
  });
}

void FrontLoop::dispatch(std::shared_ptr<FrontConnection> c) {
  if (active_port_ != 0) return c->connect(active_port_);
  if (static_cast<int>(waiting_.size()) >= config_.queue_limit) {
    ++refused_;
    return c->close();
  }
  // No instance is ready: it waits, at most queue_timeout from its accept.
  waiting_.push_back(c);
  auto left = config_.queue_timeout - (std::chrono::steady_clock::now() - c->accepted_at());
  c->wait_timer().expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(left));
  std::weak_ptr<FrontConnection> weak = c;
  c->wait_timer().async_wait([this, weak](const boost::system::error_code& ec) {
    auto c = weak.lock();
    if (ec || !c) return;
    std::erase(waiting_, c);
    ++refused_;
    c->close();
  });
}

void FrontLoop::connect_failed(std::shared_ptr<FrontConnection> c) {
  // The instance went away between its last "ready" and this connect (a crash the
  // supervisor is about to see): try again shortly — by then the connection waits for
  // the next ready instance — rather than fail the client, within queue_timeout.
  if (std::chrono::steady_clock::now() - c->accepted_at() >= config_.queue_timeout) {
    ++refused_;
    return c->close();
  }
  c->wait_timer().expires_after(std::chrono::milliseconds(20));
  std::weak_ptr<FrontConnection> weak = c;
  c->wait_timer().async_wait([this, weak](const boost::system::error_code& ec) {
    if (auto c = weak.lock(); c && !ec) dispatch(c);
  });
}

void FrontLoop::set_active(int port, const std::string& instance_id) {
  active_port_ = port;
  active_instance_ = instance_id;
  flush_waiting();
}

void FrontLoop::clear_active() {
  active_port_ = 0;
  active_instance_.clear();
}

void FrontLoop::flush_waiting() {
  auto waiting = std::move(waiting_);
  waiting_.clear();
  for (auto& c : waiting) {
    c->wait_timer().cancel();
    dispatch(c);
  }
}

void FrontLoop::connection_closed(FrontConnection* c) {
  // The map's reference may be the last: keep it alive until this call returns.
  auto it = open_.find(c);
  if (it == open_.end()) return;
  auto keep = std::move(it->second);
  open_.erase(it);
  if (!accepting_ && acceptor_.is_open() && !full()) accept();
  if (!drains_.empty()) check_drains();
}

void FrontLoop::drain(int port, Duration timeout, std::function<void()> done) {
  auto timer = std::make_shared<asio::steady_timer>(io_);
  drains_.push_back({port, timer, std::move(done)});
  timer->expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout));
  timer->async_wait([this, port](const boost::system::error_code& ec) {
    if (ec) return;
    std::vector<std::shared_ptr<FrontConnection>> left;
    for (const auto& [raw, c] : open_) {
      if (c->port() == port) left.push_back(c);
    }
    if (!left.empty()) {
      spdlog::warn("front: closing {} connection(s) to port {} still open after the drain timeout", left.size(), port);
    }
    for (auto& c : left) c->close();
    check_drains();
  });
  check_drains();
}

void FrontLoop::check_drains() {
  for (size_t i = 0; i < drains_.size();) {
    int port = drains_[i].port;
    bool busy =
        std::any_of(open_.begin(), open_.end(), [port](const auto& entry) { return entry.second->port() == port; });
    if (busy) {
      ++i;
      continue;
    }
    auto d = std::move(drains_[i]);
    drains_.erase(drains_.begin() + static_cast<long>(i));
    d.timer->cancel();
    if (d.done) d.done();
  }
}

nlohmann::json FrontLoop::status() const {
  std::map<std::string, int> per_port;
  int waiting = 0;
  for (const auto& [raw, c] : open_) {
    if (c->port() == 0)
      ++waiting;
    else
      ++per_port[std::to_string(c->port())];
  }
  return {{"listen", config_.listen_host + ":" + std::to_string(config_.listen_port)},
          {"active_port", active_port_ ? nlohmann::json(active_port_) : nlohmann::json(nullptr)},
          {"active_instance", active_instance_},
          {"connections", per_port},
          {"waiting", waiting},
          {"accepted", accepted_},
          {"refused", refused_},
          {"max_connections", max_connections_},
          {"accept_errors", accept_errors_},
          {"thread_priority", priority_}};
}

namespace {

// Runs on the front's thread: asks for [proxy] nice. A thread's nice value is its
// own on Linux, so the supervisor's loop — and the apps it spawns — keep theirs.
std::string request_priority(int nice) {
  if (nice == 0) return "nice 0";
  if (::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), nice) == 0) return "nice " + std::to_string(nice);
  int error = errno;
  std::string note = "nice 0 (nice " + std::to_string(nice) + " refused: " + std::strerror(error) + ")";
  spdlog::info(
      "front: its thread runs at normal priority: nice {} needs CAP_SYS_NICE or RLIMIT_NICE (systemd LimitNICE={})",
      nice, nice);
  return note;
}

}  // namespace

Result<std::unique_ptr<TcpFront>> TcpFront::open(const ProxyConfig& config, asio::any_io_executor owner) {
  auto front = std::unique_ptr<TcpFront>(new TcpFront(config, std::move(owner)));
  if (auto s = front->loop_->bind(); !s) return s.error();
  front->loop_->accept();
  front->keep_running_.emplace(front->io_.get_executor());
  // Signals are the supervisor loop's business: the front's thread never takes one.
  sigset_t all, previous;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_BLOCK, &all, &previous);
  front->thread_ = std::thread([f = front.get()] {
    f->loop_->set_priority_note(request_priority(f->config_.nice));
    run_busy_polling(f->io_, f->config_.busy_poll);
  });
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return front;
}

TcpFront::TcpFront(const ProxyConfig& config, asio::any_io_executor owner)
    : config_(config), owner_(std::move(owner)), loop_(std::make_unique<FrontLoop>(io_, config)) {}

TcpFront::~TcpFront() {
  if (thread_.joinable()) {
    asio::post(io_, [this] { loop_->shut_down(); });
    keep_running_.reset();
    asio::post(io_, [this] { io_.stop(); });  // whatever shut_down left pending is not waited for
    thread_.join();
  }
  loop_.reset();
}

void TcpFront::set_active(int port, const std::string& instance_id) {
  active_port_ = port;
  asio::post(io_, [this, port, instance_id] { loop_->set_active(port, instance_id); });
}

void TcpFront::clear_active() {
  active_port_ = 0;
  asio::post(io_, [this] { loop_->clear_active(); });
}

void TcpFront::drain(int port, Duration timeout, std::function<void()> done) {
  asio::post(io_, [this, port, timeout, done = std::move(done)]() mutable {
    loop_->drain(port, timeout,
                 [owner = owner_, done = std::move(done)]() mutable { asio::post(owner, std::move(done)); });
  });
}

nlohmann::json TcpFront::status() const {
  auto answer = std::make_shared<std::promise<nlohmann::json>>();
  auto future = answer->get_future();
  asio::post(io_, [this, answer] { answer->set_value(loop_->status()); });
  if (future.wait_for(std::chrono::seconds(1)) != std::future_status::ready) {
    return {{"listen", config_.listen_host + ":" + std::to_string(config_.listen_port)},
            {"error", "the front's thread did not answer within 1s"}};
  }
  return future.get();
}

long raise_open_files_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return -1;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
  return static_cast<long>(limit.rlim_cur);
}

}  // namespace agentron
