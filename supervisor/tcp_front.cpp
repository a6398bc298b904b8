#include "supervisor/tcp_front.h"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <unordered_map>

#include "common/asio_clock.h"
#include "common/busy_poll.h"
#include "common/unique_fd.h"
#include "supervisor/front_connection.h"
#include "supervisor/front_policy.h"

namespace agentron {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

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

// The front's I/O, all on its own thread's loop (TcpFront hands calls over to it): the
// listen socket, the epoll set of the connections' sockets, and the connections. What
// to do with a connection is the policy's (FrontPolicy), asked per connection.
class FrontLoop : public FrontConnectionOwner, public FrontActions {
 public:
  FrontLoop(asio::io_context& io, const ProxyConfig& config)
      : io_(io), config_(config), clock_(io), policy_(clock_, *this, config), acceptor_(io), epoll_(io) {}
  ~FrontLoop() override { shut_down(); }

  // Binds [proxy] listen; an address in use is a clear error naming it.
  Status bind();
  // Accepts connections and forwards their bytes from now on.
  void start();
  // Stops accepting and closes every connection: the loop runs out of work.
  void shut_down();

  void set_active(int port, const std::string& instance_id);
  void clear_active();
  void drain(int port, Duration timeout, std::function<void()> done) { policy_.drain(port, timeout, std::move(done)); }
  nlohmann::json status() const;
  void set_priority_note(std::string note) { priority_ = std::move(note); }

  // FrontConnectionOwner
  int epoll_fd() override { return epoll_.native_handle(); }
  void connection_closed(FrontConnectionId c) override;
  void connect_failed(FrontConnectionId c) override { policy_.connect_failed(c); }
  void upstream_lost(FrontConnectionId c) override { policy_.upstream_lost(c); }

  // FrontActions
  void connect(FrontConnectionId c, int port) override;
  void close(FrontConnectionId c) override;
  void accept_again() override;
  void drain_timed_out(int port, size_t left) override;

 private:
  static constexpr int kAcceptBatch = 256;  // at most, per turn of the loop
  static constexpr int kEventBatch = 256;

  void watch_sockets();
  void run_ready();
  void accept();
  void pause_accepting();
  void take(UniqueFd socket);
  void accept_failed(const boost::system::error_code& ec);
  FrontConnection* find(FrontConnectionId c) const;

  asio::io_context& io_;
  ProxyConfig config_;
  // The policy's timers run on this loop, the front's own: the daemon's clock would
  // run them on the daemon's thread, beside this one.
  AsioClock clock_;
  FrontPolicy policy_;
  tcp::acceptor acceptor_;
  asio::posix::stream_descriptor epoll_;  // the connections' sockets, edge-triggered
  long long limited_ = 0;                 // times accepting paused at the cap
  long long accept_errors_ = 0;
  std::string active_instance_;
  FrontConnectionId next_id_ = 1;
  std::unordered_map<FrontConnectionId, std::shared_ptr<FrontConnection>> open_;
  long long accepted_ = 0;
  std::string priority_;
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
  int epoll = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll < 0)
    return Error{"listen_failed", std::string("the front cannot create an epoll set: ") + std::strerror(errno)};
  epoll_.assign(epoll);
  policy_.limit_connections(free_descriptors());
  return ok_status();
}

void FrontLoop::shut_down() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  epoll_.cancel(ignored);
  policy_.shut_down();
  auto all = open_;
  for (const auto& [id, c] : all) c->close();
}

void FrontLoop::start() {
  accept();
  watch_sockets();
}

void FrontLoop::accept() {
  if (!policy_.may_accept()) return pause_accepting();
  acceptor_.async_wait(tcp::acceptor::wait_read, [this](const boost::system::error_code& ec) {
    if (ec == asio::error::operation_aborted) return;
    if (ec) return accept_failed(ec);
    // Every connection already waiting, not one per turn of the loop (as libuv does):
    // a thousand clients connecting at once are not served seconds apart.
    for (int i = 0; i < kAcceptBatch && policy_.may_accept(); ++i) {
      int fd = ::accept4(acceptor_.native_handle(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd >= 0) {
        take(UniqueFd(fd));
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        break;
      } else if (errno != ECONNABORTED && errno != EINTR) {  // those: that client gave up; the next
        return accept_failed(boost::system::error_code(errno, boost::system::system_category()));
      }
    }
    accept();
  });
}

void FrontLoop::pause_accepting() {
  if (limited_++ % 100 == 0) {
    spdlog::warn(
        "front: {} connections open, the most the open-files limit leaves room for (2 descriptors each, {} kept "
        "for the supervisor); more wait in the listen backlog until one closes. Raise the limit (LimitNOFILE=) "
        "for more",
        open_.size(), policy_.reserved_descriptors());
  }
}

void FrontLoop::accept_again() {
  if (acceptor_.is_open()) accept();
}

void FrontLoop::take(UniqueFd socket) {
  ++accepted_;
  FrontConnectionId id = next_id_++;
  auto c = std::make_shared<FrontConnection>(id, std::move(socket), config_.buffer, *this);
  open_.emplace(id, c);
  if (!c->watch_client()) return c->close();  // the epoll set is out of memory or watches
  policy_.accepted(id);
}

void FrontLoop::watch_sockets() {
  epoll_.async_wait(asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
    if (ec) return;
    run_ready();
    watch_sockets();
  });
}

void FrontLoop::run_ready() {
  std::array<epoll_event, kEventBatch> events{};
  int n = ::epoll_wait(epoll_fd(), events.data(), kEventBatch, 0);
  for (int i = 0; i < n; ++i) {
    auto [c, which] = FrontConnection::from_token(events[i].data.u64);
    c->on_event(which, events[i].events);
  }
}

void FrontLoop::accept_failed(const boost::system::error_code& ec) {
  // With the reserve this is rare: another process may have used the system's files.
  // Out of descriptors or memory (EMFILE, ENFILE, ENOBUFS). Clients wait in the listen
  // backlog meanwhile.
  if (accept_errors_++ % 100 == 0) {
    spdlog::warn("front: cannot accept connections: {} ({} time(s)); trying again every {}", ec.message(),
                 accept_errors_, format_duration(FrontPolicy::kAcceptRetry));
  }
  policy_.accept_failed();
}

FrontConnection* FrontLoop::find(FrontConnectionId c) const {
  auto it = open_.find(c);
  return it == open_.end() ? nullptr : it->second.get();
}

void FrontLoop::connect(FrontConnectionId c, int port) {
  if (auto* connection = find(c)) connection->connect(port);
}

void FrontLoop::close(FrontConnectionId c) {
  if (auto* connection = find(c)) connection->close();
}

void FrontLoop::drain_timed_out(int port, size_t left) {
  spdlog::warn("front: closing {} connection(s) to port {} still open after the drain timeout", left, port);
}

void FrontLoop::set_active(int port, const std::string& instance_id) {
  active_instance_ = instance_id;
  policy_.set_active(port);
}

void FrontLoop::clear_active() {
  active_instance_.clear();
  policy_.clear_active();
}

void FrontLoop::connection_closed(FrontConnectionId c) {
  auto it = open_.find(c);
  if (it == open_.end()) return;
  // The map's reference may be the last, and events for the connection may still be
  // in the batch run_ready is going through: it is destroyed after that.
  asio::post(io_, [keep = std::move(it->second)] {});
  open_.erase(it);
  policy_.closed(c);
}

nlohmann::json FrontLoop::status() const {
  std::map<std::string, long> per_port;
  for (const auto& [port, n] : policy_.connections_per_port()) per_port[std::to_string(port)] = n;
  int active_port = policy_.active_port();
  return {{"listen", config_.listen_host + ":" + std::to_string(config_.listen_port)},
          {"active_port", active_port ? nlohmann::json(active_port) : nlohmann::json(nullptr)},
          {"active_instance", active_instance_},
          {"connections", per_port},
          {"waiting", policy_.waiting()},
          {"accepted", accepted_},
          {"refused", policy_.refused()},
          {"max_connections", policy_.max_connections()},
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
  front->loop_->start();
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

void TcpFront::status(std::function<void(nlohmann::json)> done) {
  asio::post(io_, [this, done = std::move(done)]() mutable {
    asio::post(owner_, [done = std::move(done), answer = loop_->status()]() mutable { done(std::move(answer)); });
  });
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
