// What every control API request must pass before any handler sees it (docs/security.md,
// "Control API"): a pure function of the request's head, tested without sockets
// (tests/api/request_guard_test.cpp). Checked in this order, the first failure answers:
//
//   HTTP/1.1                                         else 505 http_version_not_supported
//   Host is one of `hosts` (DNS rebinding)           else 403 forbidden_host
//   Origin, if sent, is http://<that Host>           else 403 forbidden_origin
//   Authorization: Bearer <agent's or operator's token> (unless exempt),
//     or a capability path <capability_prefix><agent's token>  else 401 unauthorized
//   a body (Content-Length > 0 or chunked) is JSON   else 415 unsupported_media_type
//     (or, for a request exempt from the token, a form: application/x-www-form-urlencoded)
//
// The body's size is the listener's to check (413), as it reads.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/api_role.h"
#include "api/http_message.h"

namespace agentron {

struct GuardOptions {
  std::string token;               // the agent's bearer token (api/api_token.h)
  std::string operator_token;      // the operator's; "" none (api/api_role.h)
  std::vector<std::string> hosts;  // accepted Host values, compared without case: allowed_hosts()
  // Requests that need no token (a page the browser loads, say); null: every request needs it.
  // The Host and Origin checks apply to them all the same; they may send a form body.
  std::function<bool(const HttpRequest& head)> token_exempt;
  // A path starting with this ("/mcp/") carries the agent's token after it in place of
  // the Authorization header (for clients that cannot send headers): `<prefix><token>`,
  // and nothing else, passes. "": no such paths.
  std::string capability_prefix;
};

// The Host values a listener on `listen_host`:`port` accepts: itself, localhost:<port>,
// and 127.0.0.1:<port> for an IPv4 address or [::1]:<port> for IPv6.
std::vector<std::string> allowed_hosts(const std::string& listen_host, int port);

struct GuardRejection {
  http::status status;
  std::string code;     // http_error::…
  std::string message;  // for the client; never contains what the client sent as a token
};

// `head` is the request without its body (the guard runs before the body is read); `version`
// is the request line's, 11 for HTTP/1.1. nullopt: the request may go on.
std::optional<GuardRejection> check_request(const HttpRequest& head, unsigned version, const GuardOptions& options);

// Whose token `head` carries: the operator's, the agent's, or neither (nullopt: missing,
// malformed or wrong). Each token is compared in constant time.
std::optional<ApiRole> bearer_role(const HttpRequest& head, const GuardOptions& options);

// The response for a rejection (with WWW-Authenticate: Bearer for a 401).
HttpResponse rejection_response(const GuardRejection& rejection);

// Whether `given` equals `expected`, in time that depends only on their lengths: every
// byte of `expected` is compared, whatever differs and wherever.
bool constant_time_equal(std::string_view expected, std::string_view given);

}  // namespace agentron
