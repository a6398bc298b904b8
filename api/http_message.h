// What the control API's handler sees and answers (docs/architecture.md, "Control API
// listener"): a request that passed the guard (api/request_guard.h), and a responder it
// may answer through at once, later, or as a stream. The listener (api/http_listener.h)
// is the only transport; routes and tools are written against this header alone, and
// tested with a responder of their own (tests/api/recording_responder.h).
#pragma once

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/api_role.h"

namespace agentron {

namespace http = boost::beast::http;

struct HttpRequest {
  http::verb method = http::verb::unknown;
  std::string path;   // the target up to '?', as sent (not percent-decoded)
  std::string query;  // after '?', as sent; "" if none
  http::fields headers;
  std::string body;              // at most [control] max_body bytes
  std::string peer;              // "127.0.0.1:54321", for log lines
  ApiRole role = ApiRole::none;  // whose token it carried (set once the guard passed it)

  // A header's value, "" if absent.
  std::string_view header(http::field name) const;
  std::string_view header(std::string_view name) const;
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  http::status status = http::status::ok;
  std::string body;
  std::string content_type = "application/json";
  HttpHeaders headers;  // extra ones, e.g. Location or WWW-Authenticate
};

// `body` serialised, with `status`.
HttpResponse json_response(http::status status, const nlohmann::json& body);

// {"error": {"code": code, "message": message}} with `status`: the shape of every error.
HttpResponse json_error(http::status status, std::string_view code, std::string_view message);

// The codes the listener and the guard answer with; routes add their own.
namespace http_error {
inline constexpr const char* bad_request = "bad_request";
inline constexpr const char* unauthorized = "unauthorized";
inline constexpr const char* forbidden_host = "forbidden_host";
inline constexpr const char* forbidden_origin = "forbidden_origin";
inline constexpr const char* body_too_large = "body_too_large";
inline constexpr const char* headers_too_large = "headers_too_large";
inline constexpr const char* unsupported_media_type = "unsupported_media_type";
inline constexpr const char* http_version_not_supported = "http_version_not_supported";
inline constexpr const char* too_many_connections = "too_many_connections";
inline constexpr const char* not_found = "not_found";
inline constexpr const char* method_not_allowed = "method_not_allowed";
}  // namespace http_error

// The connection's side of one request. Every call runs on the supervisor's loop and
// returns at once (the bytes go out asynchronously). It may be kept and called any
// time later — the connection stays open meanwhile, with no timeout of the listener's;
// once the client has gone, every call does nothing.
//
// Answer with exactly one of: respond(), or start_stream() + send()… + finish().
// Calls out of that order are ignored (and logged at debug).
class HttpResponder {
 public:
  virtual ~HttpResponder() = default;

  // The whole answer. The connection then reads the client's next request (keep-alive),
  // unless the client asked to close.
  virtual void respond(HttpResponse response) = 0;

  // Sends the status line and headers of a streamed answer at once. The body follows in
  // chunks (Transfer-Encoding: chunked), each send() one chunk, e.g. one Server-Sent
  // Event with content_type "text/event-stream". No timeout of the listener's applies.
  virtual void start_stream(http::status status, std::string content_type, HttpHeaders headers = {}) = 0;
  // REQUIRES: start_stream() was called. Queues `data` as one chunk ("" sends nothing).
  // A client that does not read while more than 1 MiB waits for it is closed.
  virtual void send(std::string data) = 0;
  // Ends the stream; the connection then reads the next request, as after respond().
  virtual void finish() = 0;

  // False once the client went away, the connection broke or the listener closed.
  virtual bool connected() const = 0;
  // `callback` runs once, on the loop, when the connection closes before the answer was
  // complete (at once if it already has): a stream's source stops producing then.
  virtual void on_disconnect(std::function<void()> callback) = 0;
};

// Called once per request that passed the guard, on the loop. It must not block: anything
// slow is started and answered through `respond` when done. `request` lives only during
// the call (the connection reads the next one into it): copy what is kept.
using HttpHandler = std::function<void(const HttpRequest& request, std::shared_ptr<HttpResponder> respond)>;

}  // namespace agentron
