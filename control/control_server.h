// The local control channel: a unix stream socket, <data_dir>/.supervisor/control.sock,
// mode 0600 in a 0700 folder. One JSON request line in (control/protocol.h), one JSON
// response line out, then the connection closes.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>

#include "common/result.h"
#include "control/protocol.h"

namespace agentron {

class ControlServer {
 public:
  // REQUIRES: the caller holds the data dir lock, so an existing socket file is stale.
  // `actions` outlives the server.
  static Result<std::unique_ptr<ControlServer>> listen(boost::asio::io_context& io,
                                                       const std::filesystem::path& socket_path,
                                                       ControlActions& actions);
  ~ControlServer();

  static constexpr size_t kMaxRequestBytes = 64 * 1024;

 private:
  ControlServer(boost::asio::io_context& io, std::filesystem::path path, ControlActions& actions);
  void accept();

  std::filesystem::path path_;
  ControlActions& actions_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  boost::asio::steady_timer retry_;  // after an accept error (EMFILE): not at once
};

}  // namespace agentron
