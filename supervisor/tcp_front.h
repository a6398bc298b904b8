// The zero-downtime front ([proxy], DESIGN §6): the public port stays with the
// supervisor, and each accepted connection is forwarded — layer 4, bytes both ways,
// so HTTP, server-sent events and WebSockets pass unchanged — to the instance that
// is active now. At a handover's switch new connections go to the new instance while
// those already open to the old one drain; while no instance is ready, connections
// wait (bounded) instead of being refused.
//
// Each direction of a connection has one fixed buffer: nothing more is read from one
// side until the other has taken what was read, so a slow reader slows its writer
// (TCP backpressure) and memory stays bounded by connections × 2 × buffer.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>

#include "common/result.h"
#include "config/config.h"

namespace agentron {

class FrontConnection;

class TcpFront {
 public:
  // Binds [proxy] listen; an address in use is a clear error naming it.
  static Result<std::unique_ptr<TcpFront>> open(boost::asio::io_context& io, const ProxyConfig& config);
  ~TcpFront();

  // New connections (and those waiting) go to 127.0.0.1:port from now on.
  void set_active(int port, const std::string& instance_id);
  // No instance is ready: new connections wait, up to queue_timeout.
  void clear_active();
  // Connections to `port` may finish; those still open after `timeout` are closed.
  // `done` runs once none is left.
  void drain(int port, Duration timeout, std::function<void()> done);

  int active_port() const { return active_port_; }
  nlohmann::json status() const;

  // For FrontConnection.
  void connection_closed(FrontConnection* c);
  void connect_failed(std::shared_ptr<FrontConnection> c);

 private:
  TcpFront(boost::asio::io_context& io, const ProxyConfig& config);
  void accept();
  void dispatch(std::shared_ptr<FrontConnection> c);
  void flush_waiting();
  void check_drains();

  boost::asio::io_context& io_;
  ProxyConfig config_;
  boost::asio::ip::tcp::acceptor acceptor_;
  int active_port_ = 0;
  std::string active_instance_;
  std::unordered_map<FrontConnection*, std::shared_ptr<FrontConnection>> open_;
  std::deque<std::shared_ptr<FrontConnection>> waiting_;
  struct Drain {
    int port;
    std::shared_ptr<boost::asio::steady_timer> timer;
    std::function<void()> done;
  };
  std::vector<Drain> drains_;
  long long accepted_ = 0;
  long long refused_ = 0;
};

// Raises the soft RLIMIT_NOFILE to the hard limit (a front holds two descriptors per
// connection). Returns the new soft limit.
long raise_open_files_limit();

}  // namespace agentron
