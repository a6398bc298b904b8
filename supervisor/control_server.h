// The local control channel: a unix stream socket, <data_dir>/.supervisor/control.sock,
// mode 0600 in a 0700 folder. One JSON request line in, one JSON response line out,
// then the connection closes:
//   → {"method":"status"}
//   ← {"ok":true,"data":{...}}  or  {"ok":false,"error":{"code":"...","message":"..."}}
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>

#include "common/result.h"

namespace agentron {

class ControlServer {
 public:
  // Answers one request by calling `respond` once, now or later (a stop answers when
  // the app is gone). Runs on the event loop and must not block.
  using Responder = std::function<void(nlohmann::json response)>;
  using Handler = std::function<void(const nlohmann::json& request, Responder respond)>;

  // REQUIRES: the caller holds the data dir lock, so an existing socket file is stale.
  static Result<std::unique_ptr<ControlServer>> listen(boost::asio::io_context& io,
                                                       const std::filesystem::path& socket_path, Handler handler);
  ~ControlServer();

  static constexpr size_t kMaxRequestBytes = 64 * 1024;

 private:
  ControlServer(boost::asio::io_context& io, std::filesystem::path path, Handler handler);
  void accept();

  std::filesystem::path path_;
  Handler handler_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  boost::asio::steady_timer retry_;  // after an accept error (EMFILE): not at once
};

nlohmann::json ok_response(nlohmann::json data);
nlohmann::json error_response(const std::string& code, const std::string& message);

}  // namespace agentron
