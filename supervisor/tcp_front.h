// The zero-downtime front ([proxy], docs/design.md §6): the public port stays with the
// supervisor, and each accepted connection is forwarded — layer 4, bytes both ways,
// so HTTP, server-sent events and WebSockets pass unchanged — to the instance that
// is active now. At a handover's switch new connections go to the new instance while
// those already open to the old one drain; while no instance is ready, connections
// wait (bounded) instead of being refused.
//
// Each direction of a connection has one fixed buffer: nothing more is read from one
// side until the other has taken what was read, so a slow reader slows its writer
// (TCP backpressure) and memory stays bounded by connections × 2 × buffer.
//
// The front runs on a thread of its own, with its own event loop: nothing the
// supervisor's loop does (an fsync of the history, a verification) delays a forwarded
// byte, and the thread can be scheduled ahead of the app ([proxy] nice) so that on a
// busy machine it is not the one waiting for a CPU. Its methods are called from the
// supervisor's loop and hand the work over to the front's thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

#include "common/result.h"
#include "config/config.h"

namespace agentron {

class FrontLoop;

class TcpFront {
 public:
  // Binds [proxy] listen (an address in use is a clear error naming it) and starts
  // the front's thread. `owner` is the supervisor's loop: drain callbacks run there.
  static Result<std::unique_ptr<TcpFront>> open(const ProxyConfig& config, boost::asio::any_io_executor owner);
  // Closes every connection and joins the thread.
  ~TcpFront();

  // New connections (and those waiting) go to 127.0.0.1:port from now on.
  void set_active(int port, const std::string& instance_id);
  // No instance is ready: new connections wait, up to queue_timeout.
  void clear_active();
  // Connections to `port` may finish; those still open after `timeout` are closed.
  // `done` runs on the owner's loop once none is left.
  void drain(int port, Duration timeout, std::function<void()> done);

  // The port last made active (0: none) — as the owner set it.
  int active_port() const { return active_port_; }
  // Asks the front's thread; `done` runs on the owner's loop with its answer (never,
  // if the thread stopped: the caller bounds the wait).
  void status(std::function<void(nlohmann::json)> done);

 private:
  TcpFront(const ProxyConfig& config, boost::asio::any_io_executor owner);

  ProxyConfig config_;
  boost::asio::any_io_executor owner_;
  boost::asio::io_context io_{1};  // the front's own loop, run by thread_ only
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> keep_running_;
  std::unique_ptr<FrontLoop> loop_;
  std::thread thread_;
  int active_port_ = 0;
  std::string nice_note_;  // how the thread's priority request went, for status
};

// Raises the soft RLIMIT_NOFILE to the hard limit (a front holds two descriptors per
// connection). Returns the new soft limit.
long raise_open_files_limit();

}  // namespace agentron
