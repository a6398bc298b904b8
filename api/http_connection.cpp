#include "api/http_connection.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <cerrno>
#include <limits>
#include <sstream>

namespace agentron {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

constexpr size_t kHeaderLimit = 16 * 1024;
// After an answer that ends the connection, what the client still sends is read and
// dropped for a while: closing with unread input would reset the connection, and the
// client could lose the answer (a 413 while it still sends its body).
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr std::uint64_t kLingerBytes = 4 * 1024 * 1024;

// The responder a handler gets. It does not keep the connection alive: once the
// connection is gone, every call does nothing.
class Exchange : public HttpResponder {
 public:
  Exchange(std::weak_ptr<HttpConnection> connection, std::uint64_t id) : connection_(std::move(connection)), id_(id) {}

  void respond(HttpResponse response) override {
    if (auto c = connection_.lock()) {
      ended_ = ended_ || c->answering(id_);
      c->respond(id_, std::move(response));
    }
  }
  void start_stream(http::status status, std::string content_type, HttpHeaders headers) override {
    if (auto c = connection_.lock()) c->start_stream(id_, status, std::move(content_type), std::move(headers));
  }
  void send(std::string data) override {
    if (auto c = connection_.lock()) c->send(id_, std::move(data));
  }
  void finish() override {
    if (auto c = connection_.lock()) {
      ended_ = ended_ || c->answering(id_);
      c->finish(id_);
    }
  }
  bool connected() const override {
    auto c = connection_.lock();
    return c && c->answering(id_);
  }
  void on_disconnect(std::function<void()> callback) override {
    if (auto c = connection_.lock()) return c->on_disconnect(id_, std::move(callback));
    if (!ended_) callback();  // gone before it was answered
  }

 private:
  std::weak_ptr<HttpConnection> connection_;
  std::uint64_t id_;
  bool ended_ = false;  // answered while the connection was there to take it
};

std::string endpoint_text(const tcp::endpoint& endpoint) {
  std::string address = endpoint.address().to_string();
  if (endpoint.address().is_v6()) address = "[" + address + "]";
  return address + ":" + std::to_string(endpoint.port());
}

// Malformed HTTP (answered 400), as opposed to the connection failing or closing.
bool is_parse_error(const boost::system::error_code& ec) {
  static const auto& http_category = http::make_error_code(http::error::bad_target).category();
  return ec.category() == http_category && ec != http::error::end_of_stream && ec != http::error::partial_message;
}

// What a log line shows of a request's target: the path — of a capability path only its
// prefix ("/mcp/…": the rest is a token, or a guess at one) — and of the query only the
// parameter names — values may be secrets — with anything unprintable replaced, and the
// token blotted out should a client have put it anywhere else.
std::string loggable_target(const HttpRequest& request, const GuardOptions& guard) {
  if (request.path.empty()) return "(unreadable request)";
  const std::string& token = guard.token;
  const std::string& prefix = guard.capability_prefix;
  bool capability = !prefix.empty() && request.path.rfind(prefix, 0) == 0;
  std::string out = capability ? prefix + "…" : request.path.substr(0, 200);
  if (!request.query.empty()) {
    out += "?";
    std::string_view query = request.query;
    for (size_t start = 0; start <= query.size();) {
      size_t end = std::min(query.find('&', start), query.size());
      std::string_view param = query.substr(start, end - start);
      out += std::string(param.substr(0, param.find('='))) + (param.find('=') != param.npos ? "=…" : "");
      if (end < query.size()) out += "&";
      start = end + 1;
    }
  }
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  for (size_t at; !token.empty() && (at = out.find(token)) != std::string::npos;)
    out.replace(at, token.size(), "<token>");
  return out;
}

http::response_header<> answer_head(http::status status, const std::string& content_type, const HttpHeaders& headers,
                                    bool keep_alive) {
  http::response_header<> head;
  head.version(11);
  head.result(status);
  head.set(http::field::content_type, content_type);
  // Answers are about the supervisor's state now: never cached.
  head.set(http::field::cache_control, "no-store");
  for (const auto& [name, value] : headers) head.insert(name, value);
  if (!keep_alive) head.set(http::field::connection, "close");
  return head;
}

std::string to_text(const http::response_header<>& head) {
  std::ostringstream out;
  out << head;
  return out.str();
}

std::string serialize(const HttpResponse& response, bool keep_alive) {
  auto head = answer_head(response.status, response.content_type, response.headers, keep_alive);
  head.set(http::field::content_length, std::to_string(response.body.size()));
  return to_text(head) + response.body;
}

HttpResponse too_large(std::uint64_t max_body) {
  return json_error(http::status::payload_too_large, http_error::body_too_large,
                    "the request body is larger than [control] max_body (" + std::to_string(max_body) + " bytes)");
}

}  // namespace

HttpConnection::HttpConnection(tcp::socket socket, std::shared_ptr<ListenerShared> shared)
    : socket_(std::move(socket)), shared_(std::move(shared)), deadline_(socket_.get_executor()) {
  boost::system::error_code ec;
  auto peer = socket_.remote_endpoint(ec);
  peer_ = ec ? "?" : endpoint_text(peer);
}

void HttpConnection::start() { read_head(); }

void HttpConnection::arm_deadline(Duration timeout) {
  deadline_.expires_after(timeout);
  deadline_.async_wait(
      [self = shared_from_this(), generation = ++deadline_generation_](const boost::system::error_code& ec) {
        if (ec || generation != self->deadline_generation_ || self->phase_ == Phase::closed) return;
        if (self->phase_ == Phase::reading_head || self->phase_ == Phase::reading_body) {
          spdlog::debug("control API: closing the connection from {}: its request did not arrive within {}",
                        self->peer_, format_duration(self->shared_->header_timeout));
        }
        self->close();
      });
}

void HttpConnection::read_head() {
  phase_ = Phase::reading_head;
  parser_.emplace();
  parser_->header_limit(kHeaderLimit);
  // Unbounded until the guard has passed the head: a Content-Length over the limit would
  // otherwise fail the head itself, before we know who asks (then max_body, below).
  parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
  request_ = HttpRequest{};
  method_ = "-";
  // From the accept, or from the previous answer: an idle keep-alive connection closes too.
  arm_deadline(shared_->header_timeout);
  http::async_read_header(
      socket_, buffer_, *parser_,
      [self = shared_from_this()](const boost::system::error_code& ec, size_t) { self->on_head(ec); });
}

void HttpConnection::on_head(const boost::system::error_code& ec) {
  if (phase_ != Phase::reading_head) return;
  started_ = std::chrono::steady_clock::now();
  if (ec == http::error::header_limit) {
    return reject(json_error(http::status::request_header_fields_too_large, http_error::headers_too_large,
                             "the request's headers are larger than 16 KiB"));
  }
  if (ec && is_parse_error(ec))
    return reject(json_error(http::status::bad_request, http_error::bad_request, ec.message()));
  if (ec) return close();  // the client closed, or the deadline did
  const auto& message = parser_->get();
  method_ = std::string(message.method_string());
  std::string_view target(message.target().data(), message.target().size());
  request_.method = message.method();
  request_.path = std::string(target.substr(0, target.find('?')));
  request_.query = target.find('?') == target.npos ? "" : std::string(target.substr(target.find('?') + 1));
  request_.headers = message;
  request_.peer = peer_;
  keep_alive_ = message.keep_alive();
  if (auto rejection = check_request(request_, message.version(), shared_->guard)) {
    return reject(rejection_response(*rejection));
  }
  request_.role = bearer_role(request_, shared_->guard).value_or(ApiRole::none);
  if (auto length = parser_->content_length(); length && *length > shared_->max_body) {
    return reject(too_large(shared_->max_body));
  }
  parser_->body_limit(shared_->max_body);  // a chunked body is counted as it comes
  if (parser_->is_done()) return dispatch();
  read_body();
}

void HttpConnection::read_body() {
  phase_ = Phase::reading_body;
  arm_deadline(shared_->header_timeout);
  if (boost::beast::iequals(request_.header(http::field::expect), "100-continue")) {
    write("HTTP/1.1 100 Continue\r\n\r\n");
  }
  http::async_read(socket_, buffer_, *parser_,
                   [self = shared_from_this()](const boost::system::error_code& ec, size_t) { self->on_body(ec); });
}

void HttpConnection::on_body(const boost::system::error_code& ec) {
  if (phase_ != Phase::reading_body) return;
  if (ec == http::error::body_limit) return reject(too_large(shared_->max_body));
  if (ec && is_parse_error(ec))
    return reject(json_error(http::status::bad_request, http_error::bad_request, ec.message()));
  if (ec) return close();
  request_.body = std::move(parser_->get().body());
  dispatch();
}

void HttpConnection::dispatch() {
  ++deadline_generation_;  // the handler takes as long as it takes
  deadline_.cancel();
  phase_ = Phase::handling;
  answered_ = false;
  finishing_ = false;
  auto responder = std::make_shared<Exchange>(weak_from_this(), ++exchange_);
  watch_for_hangup();
  HttpHandler handler = shared_->handler;  // a copy: the handler may close the listener
  try {
    handler(request_, std::move(responder));
  } catch (const std::exception& e) {
    spdlog::error("control API: the handler of {} {} threw (a bug): {}", method_,
                  loggable_target(request_, shared_->guard), e.what());
    respond(exchange_, json_error(http::status::internal_server_error, "internal_error",
                                  "the supervisor failed to answer this request (a bug; its log says more)"));
  }
}

// While the answer is being prepared nothing is read, so a client that hangs up would
// not be noticed until the answer is written: wait for the socket to become readable,
// and look (without taking the bytes) whether that is the end of its input.
void HttpConnection::watch_for_hangup() {
  socket_.async_wait(tcp::socket::wait_read,
                     [self = shared_from_this(), exchange = exchange_](const boost::system::error_code& ec) {
                       if (ec || exchange != self->exchange_ || !self->answering(exchange)) return;
                       char byte = 0;
                       ssize_t n = ::recv(self->socket_.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
                       if (n > 0) return;  // its next request (pipelined): read once this one is answered
                       if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
                         return self->watch_for_hangup();
                       self->close();  // EOF or an error: gone (a client that only half-closes is taken as gone too)
                     });
}

bool HttpConnection::answering(std::uint64_t exchange) const {
  return exchange == exchange_ && !answered_ && !finishing_ &&
         (phase_ == Phase::handling || phase_ == Phase::streaming);
}

void HttpConnection::on_disconnect(std::uint64_t exchange, std::function<void()> callback) {
  if (exchange != exchange_ || answered_) return;
  if (phase_ == Phase::closed) return callback();
  on_disconnect_.push_back(std::move(callback));
}

void HttpConnection::respond(std::uint64_t exchange, HttpResponse response) {
  if (exchange != exchange_ || phase_ != Phase::handling) {
    if (exchange == exchange_ && phase_ != Phase::closed) spdlog::debug("control API: a second answer was ignored");
    return;
  }
  phase_ = Phase::writing;
  status_ = static_cast<unsigned>(response.status);
  write(serialize(response, keep_alive_));
  arm_deadline(shared_->header_timeout);  // a client that does not take its answer
}

void HttpConnection::start_stream(std::uint64_t exchange, http::status status, std::string content_type,
                                  HttpHeaders headers) {
  if (exchange != exchange_ || phase_ != Phase::handling) return;
  phase_ = Phase::streaming;
  status_ = static_cast<unsigned>(status);
  auto head = answer_head(status, content_type, headers, keep_alive_);
  head.set(http::field::transfer_encoding, "chunked");
  write(to_text(head));
}

void HttpConnection::send(std::uint64_t exchange, std::string data) {
  if (!answering(exchange) || phase_ != Phase::streaming || data.empty()) return;
  if (queued_.size() + in_flight_.size() + data.size() > kMaxQueuedBytes) {
    spdlog::warn("control API: {} does not read the stream it asked for ({} {}): closing it", peer_, method_,
                 loggable_target(request_, shared_->guard));
    return close();
  }
  std::ostringstream size;
  size << std::hex << data.size();
  write(size.str() + "\r\n" + data + "\r\n");
}

void HttpConnection::finish(std::uint64_t exchange) {
  if (!answering(exchange) || phase_ != Phase::streaming) return;
  finishing_ = true;
  write("0\r\n\r\n");
}

void HttpConnection::reject(HttpResponse response) {
  keep_alive_ = false;  // what follows the rejected head (its body) is never read
  phase_ = Phase::writing;
  answered_ = false;
  status_ = static_cast<unsigned>(response.status);
  write(serialize(response, false));
  arm_deadline(shared_->header_timeout);
}

void HttpConnection::write(std::string bytes) {
  queued_ += bytes;
  if (writing_) return;
  writing_ = true;
  in_flight_ = std::exchange(queued_, {});
  asio::async_write(
      socket_, asio::buffer(in_flight_),
      [self = shared_from_this()](const boost::system::error_code& ec, size_t n) { self->on_written(ec, n); });
}

void HttpConnection::on_written(const boost::system::error_code& ec, std::size_t) {
  writing_ = false;
  in_flight_.clear();
  if (phase_ == Phase::closed) return;
  if (ec) return close();
  if (!queued_.empty()) return write("");
  if (phase_ == Phase::writing || (phase_ == Phase::streaming && finishing_)) end_of_answer();
}

void HttpConnection::end_of_answer() {
  answered_ = true;
  on_disconnect_.clear();
  log_request(std::to_string(status_));
  if (keep_alive_) return read_head();
  linger();
}

void HttpConnection::linger() {
  phase_ = Phase::lingering;
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
  arm_deadline(kLingerTime);
  drained_ = 0;
  buffer_.consume(buffer_.size());
  drain();
}

void HttpConnection::drain() {
  socket_.async_read_some(buffer_.prepare(16 * 1024),
                          [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
                            if (self->phase_ != Phase::lingering) return;
                            self->drained_ += n;
                            if (ec || self->drained_ > kLingerBytes) return self->close();
                            self->drain();
                          });
}

void HttpConnection::close() {
  if (phase_ == Phase::closed) return;
  auto self = shared_from_this();  // the listener's reference goes below
  // The handler still has the request: it hears of the close through on_disconnect.
  bool handler_waits = !answered_ && (phase_ == Phase::handling || phase_ == Phase::streaming);
  bool unanswered = !answered_ && (handler_waits || phase_ == Phase::writing);
  phase_ = Phase::closed;
  boost::system::error_code ignored;
  socket_.close(ignored);
  ++deadline_generation_;
  deadline_.cancel();
  if (unanswered) log_request("not answered: the connection closed");
  shared_->open.erase(this);
  auto callbacks = std::exchange(on_disconnect_, {});
  if (handler_waits) {
    for (auto& callback : callbacks) callback();
  }
}

void HttpConnection::log_request(const std::string& outcome) const {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_);
  spdlog::info("control API: {} {} {} ({} ms, {})", method_, loggable_target(request_, shared_->guard), outcome,
               ms.count(), peer_);
}

}  // namespace agentron
