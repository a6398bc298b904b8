#include "api/request_guard.h"

#include <algorithm>

#include "api/header_text.h"

namespace agentron {
namespace {

using header_text::lower;
using header_text::trim;

// What follows "Bearer " in an Authorization header, or nullopt for another scheme.
std::optional<std::string_view> bearer_value(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() < kScheme.size() || lower(authorization.substr(0, kScheme.size())) != kScheme) {
    return std::nullopt;
  }
  return trim(authorization.substr(kScheme.size()));
}

GuardRejection reject(http::status status, const char* code, std::string message) {
  return GuardRejection{status, code, std::move(message)};
}

std::optional<GuardRejection> check_host(const HttpRequest& head, const GuardOptions& options) {
  if (head.headers.count(http::field::host) != 1) {
    return reject(http::status::forbidden, http_error::forbidden_host, "a request needs exactly one Host header");
  }
  std::string host = lower(head.header(http::field::host));
  if (std::find(options.hosts.begin(), options.hosts.end(), host) == options.hosts.end()) {
    // A name that resolves to 127.0.0.1 only for the attacker's page (DNS rebinding).
    std::string accepted;
    for (const std::string& h : options.hosts) accepted += (accepted.empty() ? "" : ", ") + h;
    return reject(http::status::forbidden, http_error::forbidden_host,
                  "Host '" + host + "' is not this control API's address; it answers to " + accepted);
  }
  size_t origins = head.headers.count(http::field::origin);
  if (origins == 0) return std::nullopt;
  // A browser sends Origin with every cross-origin request: a page elsewhere is refused
  // even when the browser lets it reach this port.
  if (origins > 1 || lower(head.header(http::field::origin)) != "http://" + host) {
    return reject(http::status::forbidden, http_error::forbidden_origin,
                  "requests from another origin are refused (only http://" + host + " may send Origin)");
  }
  return std::nullopt;
}

std::optional<GuardRejection> check_token(const HttpRequest& head, const GuardOptions& options) {
  if (options.token_exempt && options.token_exempt(head)) return std::nullopt;
  std::string_view authorization = trim(head.header(http::field::authorization));
  if (!bearer_value(authorization)) {
    return reject(http::status::unauthorized, http_error::unauthorized,
                  "this request needs an Authorization: Bearer <token> header; the token is in the file "
                  "[control] token_file names");
  }
  if (!bearer_role(head, options)) {
    return reject(http::status::unauthorized, http_error::unauthorized, "the bearer token is not this supervisor's");
  }
  return std::nullopt;
}

bool is_capability_path(const HttpRequest& head, const GuardOptions& options) {
  return !options.capability_prefix.empty() && head.path.rfind(options.capability_prefix, 0) == 0;
}

// The path's token stands for the header: it must be this one, whatever header comes with it.
std::optional<GuardRejection> check_capability_path(const HttpRequest& head, const GuardOptions& options) {
  std::string_view given = std::string_view(head.path).substr(options.capability_prefix.size());
  if (options.token.empty() || !constant_time_equal(options.token, given)) {
    return reject(http::status::unauthorized, http_error::unauthorized,
                  "the token in the path is not this supervisor's");
  }
  return std::nullopt;
}

bool has_body(const HttpRequest& head) {
  std::string_view length = trim(head.header(http::field::content_length));
  return head.headers.count(http::field::transfer_encoding) > 0 ||
         (!length.empty() && length.find_first_not_of('0') != std::string_view::npos);
}

std::optional<GuardRejection> check_content_type(const HttpRequest& head, bool page) {
  if (!has_body(head)) return std::nullopt;
  std::string_view type = head.header(http::field::content_type);
  std::string media_type = lower(trim(type.substr(0, type.find(';'))));
  if (media_type == "application/json") return std::nullopt;
  // A page's own form (its session cookie, CSRF token and Origin are the page's to check).
  if (page && media_type == "application/x-www-form-urlencoded") return std::nullopt;
  // Also what keeps a browser's "simple" cross-site form post (text/plain) out.
  return reject(http::status::unsupported_media_type, http_error::unsupported_media_type,
                "a request body must be JSON, sent with Content-Type: application/json");
}

}  // namespace

std::vector<std::string> allowed_hosts(const std::string& listen_host, int port) {
  std::string p = ":" + std::to_string(port);
  bool v6 = listen_host.find(':') != std::string::npos;
  std::vector<std::string> hosts{(v6 ? "[" + listen_host + "]" : listen_host) + p};
  for (std::string other : {std::string("localhost"), std::string(v6 ? "[::1]" : "127.0.0.1")}) {
    if (std::find(hosts.begin(), hosts.end(), other + p) == hosts.end()) hosts.push_back(other + p);
  }
  return hosts;
}

std::optional<GuardRejection> check_request(const HttpRequest& head, unsigned version, const GuardOptions& options) {
  if (version != 11) {
    return reject(http::status::http_version_not_supported, http_error::http_version_not_supported,
                  "the control API speaks HTTP/1.1 only");
  }
  if (auto rejection = check_host(head, options)) return rejection;
  if (auto rejection =
          is_capability_path(head, options) ? check_capability_path(head, options) : check_token(head, options))
    return rejection;
  return check_content_type(head, options.token_exempt && options.token_exempt(head));
}

std::optional<ApiRole> bearer_role(const HttpRequest& head, const GuardOptions& options) {
  auto given = bearer_value(trim(head.header(http::field::authorization)));
  if (!given) return std::nullopt;
  // Both compared whatever the first gives, and an empty token (none configured) matches nothing.
  bool agent = !options.token.empty() && constant_time_equal(options.token, *given);
  bool op = !options.operator_token.empty() && constant_time_equal(options.operator_token, *given);
  if (op) return ApiRole::operator_;
  if (agent) return ApiRole::agent;
  return std::nullopt;
}

HttpResponse rejection_response(const GuardRejection& rejection) {
  HttpResponse response = json_error(rejection.status, rejection.code, rejection.message);
  if (rejection.status == http::status::unauthorized) response.headers.emplace_back("WWW-Authenticate", "Bearer");
  return response;
}

bool constant_time_equal(std::string_view expected, std::string_view given) {
  // A length difference is folded into the result instead of returning early, and the
  // loop runs over `expected` whatever `given` holds; a shorter `given` is compared as
  // if padded with zero bytes.
  size_t diff = expected.size() ^ given.size();
  for (size_t i = 0; i < expected.size(); ++i) {
    unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    diff |= static_cast<unsigned char>(expected[i]) ^ g;
  }
  return diff == 0;
}

}  // namespace agentron
