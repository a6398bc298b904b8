// The control API's HTTP/1.1 listener (docs/architecture.md, "Control API listener"):
// a loopback TCP socket on the supervisor's own loop. Everything it does is asynchronous,
// so a slow or idle client costs a descriptor and a timer, never the loop's time. Each
// request's head goes through the guard (api/request_guard.h) before its body is read,
// and only a request that passed it reaches the handler (api/http_message.h).
//
// Limits: headers within header_timeout of the accept or of the previous answer (an idle
// keep-alive connection closes then too), the body within header_timeout more, at most
// max_body bytes (else 413), 16 KiB of headers (else 431); an answer the client does
// not take within header_timeout closes the connection. At max_connections open, a new
// connection is accepted, answered 503 and closed at once.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "api/http_message.h"
#include "common/duration.h"
#include "common/result.h"
#include "config/config.h"

namespace agentron {

struct ListenerShared;

struct HttpListenerOptions {
  std::string host = "127.0.0.1";  // an address, or "localhost" (bound as 127.0.0.1)
  int port = 0;                    // 0: any free port; port() says which
  std::uint64_t max_body = 256 * 1024;
  Duration header_timeout = std::chrono::seconds(10);
  int max_connections = 256;
  std::string token;           // the agent's bearer token (api/api_token.h)
  std::string operator_token;  // the operator's (api/api_role.h); either lets a request in
  // Requests that need no token (GuardOptions::token_exempt); null: none.
  std::function<bool(const HttpRequest& head)> token_exempt;
  std::string capability_prefix;  // GuardOptions::capability_prefix
};

// [control]'s limits and address, with the two tokens.
HttpListenerOptions listener_options(const ControlConfig& control, std::string token, std::string operator_token);

class HttpListener {
 public:
  // Binds and starts accepting on `io`. An address in use (code control_api_port_taken,
  // naming the user that holds it when /proc/net/tcp says) or not on this machine is an error.
  static Result<std::unique_ptr<HttpListener>> listen(boost::asio::io_context& io, HttpListenerOptions options,
                                                      HttpHandler handler);
  // Stops accepting and closes every connection; responders still held do nothing from then on.
  ~HttpListener();
  HttpListener(const HttpListener&) = delete;
  HttpListener& operator=(const HttpListener&) = delete;

  int port() const { return port_; }
  // "127.0.0.1:7310" or "[::1]:7310": where it listens (the bound port, not 0).
  std::string address() const;
  // Connections open now, including those still lingering after their last answer.
  size_t open_connections() const;

 private:
  HttpListener(boost::asio::io_context& io, std::shared_ptr<ListenerShared> shared, int max_connections);
  void accept();
  // One more connection than max_connections: answered 503 and closed, without a read.
  void refuse(boost::asio::ip::tcp::socket socket);

  std::shared_ptr<ListenerShared> shared_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_;  // after an accept error (EMFILE): not at once
  std::string host_;
  int port_ = 0;
  size_t max_connections_;
  bool at_limit_ = false;  // refusing since the last time a slot was free: said once
};

}  // namespace agentron
