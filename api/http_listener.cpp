#include "api/http_listener.h"

#include <arpa/inet.h>
#include <pwd.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <fstream>
#include <sstream>

#include "api/http_connection.h"

namespace agentron {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::string bind_host(const std::string& host) { return host == "localhost" ? "127.0.0.1" : host; }

// Who listens on `address`:`port` (IPv4, host order) or on the same port of 0.0.0.0,
// from /proc/net/tcp: "uid 65534 (nobody)", or "" if it cannot be told. For the
// message when the port is taken — by the app's user, say.
std::string loopback_port_holder(std::uint32_t address, int port) {
  std::ifstream table("/proc/net/tcp");
  std::string line;
  std::getline(table, line);  // the header
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues, timer, retransmits;
    long uid = -1;
    if (!(fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid)) continue;
    auto colon = local.find(':');
    if (state != "0A" || colon == std::string::npos) continue;  // 0A: LISTEN
    // The kernel prints the address as the 32-bit value in network order, read as an int.
    auto listened = static_cast<std::uint32_t>(std::stoul(local.substr(0, colon), nullptr, 16));
    int listened_port = static_cast<int>(std::stoul(local.substr(colon + 1), nullptr, 16));
    if (listened_port != port || (listened != htonl(address) && listened != 0)) continue;
    const passwd* pw = ::getpwuid(static_cast<uid_t>(uid));
    return "uid " + std::to_string(uid) + (pw ? " (" + std::string(pw->pw_name) + ")" : "");
  }
  return "";
}

// The 503 a refused connection gets, sent without waiting: it fits any socket's send buffer.
const std::string& refusal() {
  static const std::string text = [] {
    HttpResponse r = json_error(http::status::service_unavailable, http_error::too_many_connections,
                                "the control API has [control] max_connections open; try again when one closes");
    return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
           "Content-Length: " +
           std::to_string(r.body.size()) + "\r\n\r\n" + r.body;
  }();
  return text;
}

}  // namespace

HttpListenerOptions listener_options(const ControlConfig& control, std::string token, std::string operator_token) {
  HttpListenerOptions options;
  options.host = control.listen_host;
  options.port = control.listen_port;
  options.max_body = control.max_body;
  options.header_timeout = control.header_timeout;
  options.max_connections = control.max_connections;
  options.token = std::move(token);
  options.operator_token = std::move(operator_token);
  return options;
}

HttpListener::HttpListener(asio::io_context& io, std::shared_ptr<ListenerShared> shared, int max_connections)
    : shared_(std::move(shared)), acceptor_(io), retry_(io), max_connections_(static_cast<size_t>(max_connections)) {}

Result<std::unique_ptr<HttpListener>> HttpListener::listen(asio::io_context& io, HttpListenerOptions options,
                                                           HttpHandler handler) {
  auto shared = std::make_shared<ListenerShared>();
  shared->max_body = options.max_body;
  shared->header_timeout = options.header_timeout;
  shared->guard.token = std::move(options.token);
  shared->guard.operator_token = std::move(options.operator_token);
  shared->guard.token_exempt = std::move(options.token_exempt);
  shared->guard.capability_prefix = std::move(options.capability_prefix);
  shared->handler = std::move(handler);
  std::unique_ptr<HttpListener> listener(new HttpListener(io, shared, options.max_connections));
  listener->host_ = options.host;
  std::string where = options.host + ":" + std::to_string(options.port);
  boost::system::error_code ec;
  auto address = asio::ip::make_address(bind_host(options.host), ec);
  if (ec) return Error{"control_api_failed", "cannot listen on " + where + ": not an address"};
  tcp::endpoint endpoint(address, static_cast<unsigned short>(options.port));
  auto& acceptor = listener->acceptor_;
  acceptor.open(endpoint.protocol(), ec);
  // A restarted supervisor binds again at once, despite the last one's TIME_WAIT connections.
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec == asio::error::address_in_use) {
    std::string holder =
        endpoint.address().is_v4() ? loopback_port_holder(endpoint.address().to_v4().to_uint(), options.port) : "";
    return Error{"control_api_port_taken", "control API: cannot listen on " + where + ": " + ec.message() +
                                               (holder.empty() ? "" : " (held by " + holder + ")")};
  }
  if (ec) return Error{"control_api_failed", "control API: cannot listen on " + where + ": " + ec.message()};
  listener->port_ = acceptor.local_endpoint(ec).port();
  shared->guard.hosts = allowed_hosts(options.host, listener->port_);
  listener->accept();
  return listener;
}

HttpListener::~HttpListener() {
  shared_->closed = true;
  shared_->handler = nullptr;  // what it captured goes now, not with the last connection
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  retry_.cancel();
  auto open = std::exchange(shared_->open, {});
  for (auto& [_, connection] : open) connection->close();
}

std::string HttpListener::address() const {
  bool v6 = host_.find(':') != std::string::npos;
  return (v6 ? "[" + host_ + "]" : host_) + ":" + std::to_string(port_);
}

size_t HttpListener::open_connections() const { return shared_->open.size(); }

void HttpListener::accept() {
  // `this` is used only while the listener lives: its destructor marks `shared` closed.
  acceptor_.async_accept(
      [this, weak = std::weak_ptr(shared_)](const boost::system::error_code& ec, tcp::socket socket) {
        auto shared = weak.lock();
        if (!shared || shared->closed || ec == asio::error::operation_aborted) return;
        if (ec && ec != asio::error::connection_aborted) {
          // Out of descriptors or memory: accepting again at once would spin on the error.
          spdlog::warn("control API: accept failed: {}; trying again in 100ms", ec.message());
          retry_.expires_after(std::chrono::milliseconds(100));
          retry_.async_wait([this, weak](const boost::system::error_code& ec) {
            auto shared = weak.lock();
            if (!ec && shared && !shared->closed) accept();
          });
          return;
        }
        if (!ec && shared->open.size() >= max_connections_) {
          refuse(std::move(socket));
        } else if (!ec) {
          at_limit_ = false;
          auto connection = std::make_shared<HttpConnection>(std::move(socket), shared);
          shared->open.emplace(connection.get(), connection);
          connection->start();
        }
        accept();
      });
}

// Refused by accepting and closing, not by leaving it in the kernel's backlog: a client
// learns at once that it must come back, instead of waiting for a slot that may take
// minutes (an answer the handler prepares for up to 240 s), and the backlog never fills
// with connections nobody will serve.
void HttpListener::refuse(tcp::socket socket) {
  if (!at_limit_) {
    spdlog::warn(
        "control API: {} connections are open ([control] max_connections); refusing new ones until one "
        "closes",
        max_connections_);
  }
  at_limit_ = true;
  (void)::send(socket.native_handle(), refusal().data(), refusal().size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

}  // namespace agentron
