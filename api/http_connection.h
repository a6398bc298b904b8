// One accepted control API connection (api/http_listener.h is the public face; only
// api/ includes this). It reads requests one at a time — the headers, the guard, then
// the body — hands each to the handler with a responder, writes the answer, and reads
// the next (keep-alive). Every wait is asynchronous on the loop, and bounded while the
// client owes us bytes:
//
//   reading_head ──guard ok──► reading_body ──► handling ──respond()──────► writing ──┐
//     │ ▲  header_timeout        header_timeout    │ (no timeout: the handler's)       │
//     │ └──────────────── keep-alive ◄─────────────┼─────────── finish() ◄─ streaming ◄┘
//     │ rejected (4xx/5xx) or Connection: close    └─start_stream()─────────┘
//     ▼
//   lingering (answer sent, input drained ≤ 2 s) ──► closed
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/http_message.h"
#include "api/request_guard.h"
#include "common/duration.h"

namespace agentron {

class HttpConnection;

// What the listener and its connections share; either may go first. The listener owns
// each open connection through `open` until the connection closes itself.
struct ListenerShared {
  std::uint64_t max_body = 0;
  Duration header_timeout{};
  GuardOptions guard;
  HttpHandler handler;
  std::unordered_map<const HttpConnection*, std::shared_ptr<HttpConnection>> open;
  bool closed = false;  // the listener is gone: nothing is accepted or handled any more
};

class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
 public:
  HttpConnection(boost::asio::ip::tcp::socket socket, std::shared_ptr<ListenerShared> shared);

  // Reads the first request. REQUIRES: the listener holds this in shared->open.
  void start();
  // Closes the socket now; the responder of a request in progress does nothing from now on.
  void close();

  // The responder's calls (api/http_message.h), for the request numbered `exchange`.
  void respond(std::uint64_t exchange, HttpResponse response);
  void start_stream(std::uint64_t exchange, http::status status, std::string content_type, HttpHeaders headers);
  void send(std::uint64_t exchange, std::string data);
  void finish(std::uint64_t exchange);
  bool answering(std::uint64_t exchange) const;
  void on_disconnect(std::uint64_t exchange, std::function<void()> callback);

  // A client that stopped reading a stream is closed when more than this waits for it.
  static constexpr size_t kMaxQueuedBytes = 1024 * 1024;

 private:
  enum class Phase { reading_head, reading_body, handling, writing, streaming, lingering, closed };

  void read_head();
  void on_head(const boost::system::error_code& ec);
  void read_body();
  void on_body(const boost::system::error_code& ec);
  void dispatch();
  void watch_for_hangup();
  // An answer the listener gives itself (an error): sent, then the connection closes.
  void reject(HttpResponse response);
  void write(std::string bytes);
  void on_written(const boost::system::error_code& ec, std::size_t bytes);
  void end_of_answer();
  void linger();
  void drain();
  void arm_deadline(Duration timeout);
  void log_request(const std::string& outcome) const;

  boost::asio::ip::tcp::socket socket_;
  std::shared_ptr<ListenerShared> shared_;
  std::string peer_;
  boost::beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  boost::asio::steady_timer deadline_;
  std::uint64_t deadline_generation_ = 0;
  Phase phase_ = Phase::reading_head;

  // The request being answered.
  std::uint64_t exchange_ = 0;
  HttpRequest request_;
  std::string method_ = "-";  // as sent, for the log (an unknown one too)
  std::chrono::steady_clock::time_point started_;
  unsigned status_ = 0;
  bool keep_alive_ = false;
  bool answered_ = true;    // its answer was written whole (true before the first request)
  bool finishing_ = false;  // a stream's last chunk is queued
  std::vector<std::function<void()>> on_disconnect_;

  // Bytes to the client: one write in flight, the rest waiting (joined into the next).
  std::string queued_;
  std::string in_flight_;
  bool writing_ = false;
  std::uint64_t drained_ = 0;  // while lingering
};

}  // namespace agentron
