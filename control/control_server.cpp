#include "control/control_server.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include "common/json_depth.h"
#include "control/socket_path.h"

namespace agentron {
namespace {

namespace asio = boost::asio;
using local = asio::local::stream_protocol;

// One client: read a line (bounded in size and time), answer, close.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(local::socket socket, ControlActions& actions)
      : socket_(std::move(socket)),
        actions_(actions),
        buffer_(ControlServer::kMaxRequestBytes),
        deadline_(socket_.get_executor()) {}

  void start() {
    auto self = shared_from_this();
    // A client that connects and says nothing must not hold a descriptor forever.
    deadline_.expires_after(std::chrono::seconds(10));
    deadline_.async_wait([self](const boost::system::error_code& ec) {
      if (!ec) self->socket_.close();
    });
    asio::async_read_until(socket_, buffer_, '\n',
                           [self](const boost::system::error_code& ec, size_t n) { self->on_request(ec, n); });
  }

 private:
  void on_request(const boost::system::error_code& ec, size_t n) {
    if (ec) {
      if (ec == asio::error::not_found) reply(error_response(control_error::bad_request, "request longer than 64 KiB"));
      return;  // otherwise closed or timed out: nobody to answer
    }
    std::string line(asio::buffers_begin(buffer_.data()), asio::buffers_begin(buffer_.data()) + static_cast<long>(n));
    auto request = json_nesting(line) > kMaxJsonNesting
                       ? nlohmann::json(nlohmann::json::value_t::discarded)
                       : nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (request.is_discarded()) {
      reply(error_response(control_error::bad_request, "not JSON: expected one JSON object on one line"));
      return;
    }
    // A slow answer (a stop) must not be cut off by the idle deadline.
    deadline_.cancel();
    auto self = shared_from_this();
    dispatch_control_request(request, actions_, [self](nlohmann::json response) { self->reply(response); });
  }

  void reply(const nlohmann::json& response) {
    reply_ = response.dump() + "\n";
    auto self = shared_from_this();
    asio::async_write(socket_, asio::buffer(reply_), [self](const boost::system::error_code&, size_t) {
      self->deadline_.cancel();
      self->socket_.close();
    });
  }

  local::socket socket_;
  ControlActions& actions_;
  asio::streambuf buffer_;
  asio::steady_timer deadline_;
  std::string reply_;
};

}  // namespace

ControlServer::ControlServer(asio::io_context& io, std::filesystem::path path, ControlActions& actions)
    : path_(std::move(path)), actions_(actions), acceptor_(io), retry_(io) {}

Result<std::unique_ptr<ControlServer>> ControlServer::listen(asio::io_context& io,
                                                             const std::filesystem::path& socket_path,
                                                             ControlActions& actions) {
  std::unique_ptr<ControlServer> server(new ControlServer(io, socket_path, actions));
  std::error_code fs_ec;
  std::filesystem::remove(socket_path, fs_ec);
  auto address = socket_address(socket_path);
  if (!address) return address.error();
  boost::system::error_code ec;
  server->acceptor_.open(local(), ec);
  // umask makes the socket 0600 from the moment it exists, not after a chmod.
  mode_t old_mask = ::umask(0177);
  if (!ec) server->acceptor_.bind(local::endpoint(address->path), ec);
  ::umask(old_mask);
  if (!ec) server->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Error{"control_socket_failed", "cannot listen on " + socket_path.string() + ": " + ec.message()};
  server->accept();
  return server;
}

ControlServer::~ControlServer() {
  boost::system::error_code ec;
  acceptor_.close(ec);
  retry_.cancel();
  std::error_code fs_ec;
  std::filesystem::remove(path_, fs_ec);
}

void ControlServer::accept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, local::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec || ec == asio::error::connection_aborted) {
      if (!ec) std::make_shared<Session>(std::move(socket), actions_)->start();
      return accept();
    }
    // Out of descriptors or memory: accepting again at once would spin on the error.
    spdlog::warn("control socket: accept failed: {}; trying again in 100ms", ec.message());
    retry_.expires_after(std::chrono::milliseconds(100));
    retry_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) accept();
    });
  });
}

}  // namespace agentron
