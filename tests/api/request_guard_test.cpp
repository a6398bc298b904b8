// The guard every control API request passes (api/request_guard.h), rule by rule,
// without a socket.
#include "api/request_guard.h"

#include <catch2/catch.hpp>

using namespace agentron;

namespace {

const std::string kToken(64, 'a');
const std::string kOperatorToken(64, 'o');

GuardOptions options() {
  GuardOptions o;
  o.token = kToken;
  o.operator_token = kOperatorToken;
  o.hosts = allowed_hosts("127.0.0.1", 7310);
  return o;
}

// A request that passes: GET with the right Host and token.
HttpRequest good_request() {
  HttpRequest r;
  r.method = http::verb::get;
  r.path = "/v1/ping";
  r.headers.set(http::field::host, "127.0.0.1:7310");
  r.headers.set(http::field::authorization, "Bearer " + kToken);
  return r;
}

std::string code_of(const HttpRequest& r, const GuardOptions& o = options(), unsigned version = 11) {
  auto rejection = check_request(r, version, o);
  return rejection ? rejection->code : "";
}

}  // namespace

TEST_CASE("a request with the right Host and token passes", "[api][guard]") { CHECK(code_of(good_request()) == ""); }

TEST_CASE("the accepted Host values are the listen address, localhost and the loopback address", "[api][guard]") {
  CHECK(allowed_hosts("127.0.0.1", 7310) == std::vector<std::string>{"127.0.0.1:7310", "localhost:7310"});
  CHECK(allowed_hosts("127.0.0.2", 80) == std::vector<std::string>{"127.0.0.2:80", "localhost:80", "127.0.0.1:80"});
  CHECK(allowed_hosts("::1", 7310) == std::vector<std::string>{"[::1]:7310", "localhost:7310"});
  CHECK(allowed_hosts("localhost", 7310) == std::vector<std::string>{"localhost:7310", "127.0.0.1:7310"});

  for (const char* host : {"127.0.0.1:7310", "localhost:7310", "LocalHost:7310"}) {
    INFO(host);
    HttpRequest r = good_request();
    r.headers.set(http::field::host, host);
    CHECK(code_of(r) == "");
  }
}

TEST_CASE("a foreign, portless, wrong-port, missing or repeated Host is 403 forbidden_host", "[api][guard]") {
  for (const char* host : {"evil.example:7310", "127.0.0.1", "127.0.0.1:7311", "localhost", "[::1]:7310", ""}) {
    INFO(host);
    HttpRequest r = good_request();
    r.headers.set(http::field::host, host);
    auto rejection = check_request(r, 11, options());
    REQUIRE(rejection);
    CHECK(rejection->status == http::status::forbidden);
    CHECK(rejection->code == http_error::forbidden_host);
  }
  HttpRequest none = good_request();
  none.headers.erase(http::field::host);
  CHECK(code_of(none) == http_error::forbidden_host);
  HttpRequest two = good_request();
  two.headers.insert(http::field::host, "127.0.0.1:7310");
  CHECK(code_of(two) == http_error::forbidden_host);
}

TEST_CASE("Host is checked before the token: a rebinding page learns nothing about it", "[api][guard]") {
  HttpRequest r = good_request();
  r.headers.set(http::field::host, "attacker.example:7310");
  r.headers.erase(http::field::authorization);
  CHECK(code_of(r) == http_error::forbidden_host);
}

TEST_CASE("an Origin header must be the API's own origin, else 403 forbidden_origin", "[api][guard]") {
  HttpRequest own = good_request();
  own.headers.set(http::field::origin, "http://127.0.0.1:7310");
  CHECK(code_of(own) == "");
  HttpRequest via_localhost = good_request();
  via_localhost.headers.set(http::field::host, "localhost:7310");
  via_localhost.headers.set(http::field::origin, "http://localhost:7310");
  CHECK(code_of(via_localhost) == "");

  for (const char* origin : {"http://evil.example", "http://localhost:7310", "https://127.0.0.1:7310", "null",
                             "http://127.0.0.1:7310/", "http://127.0.0.1"}) {
    INFO(origin);
    HttpRequest r = good_request();  // Host 127.0.0.1:7310: its origin is http://127.0.0.1:7310 only
    r.headers.set(http::field::origin, origin);
    auto rejection = check_request(r, 11, options());
    REQUIRE(rejection);
    CHECK(rejection->status == http::status::forbidden);
    CHECK(rejection->code == http_error::forbidden_origin);
  }
  HttpRequest two = good_request();
  two.headers.insert(http::field::origin, "http://127.0.0.1:7310");
  two.headers.insert(http::field::origin, "http://evil.example");
  CHECK(code_of(two) == http_error::forbidden_origin);
}

TEST_CASE("a missing, malformed or wrong token is 401 unauthorized, and the answer does not echo it", "[api][guard]") {
  std::string wrong = std::string(63, 'a') + "b";
  for (std::string authorization :
       {std::string(""), std::string("Bearer"), std::string("Bearer "), "Basic " + kToken, "Bearer " + wrong,
        "Bearer " + kToken.substr(1), "Bearer " + kToken + "a", "Bearer x" + kToken, kToken}) {
    INFO(authorization);
    HttpRequest r = good_request();
    if (authorization.empty())
      r.headers.erase(http::field::authorization);
    else
      r.headers.set(http::field::authorization, authorization);
    auto rejection = check_request(r, 11, options());
    REQUIRE(rejection);
    CHECK(rejection->status == http::status::unauthorized);
    CHECK(rejection->code == http_error::unauthorized);
    CHECK(rejection->message.find("aaaaaaaa") == std::string::npos);
    HttpResponse response = rejection_response(*rejection);
    CHECK(response.headers == HttpHeaders{{"WWW-Authenticate", "Bearer"}});
    CHECK(response.body.find("aaaaaaaa") == std::string::npos);
  }
}

TEST_CASE("either token lets a request in; bearer_role says whose it carried", "[api][guard]") {
  HttpRequest agent = good_request();
  CHECK(code_of(agent) == "");
  CHECK(bearer_role(agent, options()) == ApiRole::agent);
  HttpRequest op = good_request();
  op.headers.set(http::field::authorization, "bearer  " + kOperatorToken);
  CHECK(code_of(op) == "");
  CHECK(bearer_role(op, options()) == ApiRole::operator_);
  HttpRequest neither = good_request();
  neither.headers.set(http::field::authorization, "Bearer " + kOperatorToken.substr(1) + "a");
  CHECK(code_of(neither) == http_error::unauthorized);
  CHECK_FALSE(bearer_role(neither, options()).has_value());
  GuardOptions no_operator = options();  // none configured: "" matches nothing
  no_operator.operator_token.clear();
  HttpRequest empty = good_request();
  empty.headers.set(http::field::authorization, "Bearer ");
  CHECK(code_of(empty, no_operator) == http_error::unauthorized);
  CHECK(code_of(op, no_operator) == http_error::unauthorized);
}

TEST_CASE("the Bearer scheme is case-insensitive and spaces around the token are allowed", "[api][guard]") {
  for (std::string authorization : {"bearer " + kToken, "BEARER " + kToken, "Bearer   " + kToken + "  "}) {
    INFO(authorization);
    HttpRequest r = good_request();
    r.headers.set(http::field::authorization, authorization);
    CHECK(code_of(r) == "");
  }
}

TEST_CASE("with no token configured nothing is authorised, not even an empty Bearer", "[api][guard]") {
  GuardOptions o = options();
  o.token.clear();
  HttpRequest r = good_request();
  r.headers.set(http::field::authorization, "Bearer ");
  CHECK(code_of(r, o) == http_error::unauthorized);
  r.headers.set(http::field::authorization, "Bearer x");
  CHECK(code_of(r, o) == http_error::unauthorized);
}

TEST_CASE("paths the options exempt need no token; Host and Origin still apply", "[api][guard]") {
  GuardOptions o = options();
  o.token_exempt = [](const HttpRequest& head) { return head.path == "/"; };
  HttpRequest page = good_request();
  page.path = "/";
  page.headers.erase(http::field::authorization);
  CHECK(code_of(page, o) == "");
  page.headers.set(http::field::origin, "http://evil.example");
  CHECK(code_of(page, o) == http_error::forbidden_origin);
  HttpRequest api = good_request();
  api.headers.erase(http::field::authorization);
  CHECK(code_of(api, o) == http_error::unauthorized);
  // By default every path needs it.
  CHECK(code_of(page) == http_error::forbidden_origin);
  page.headers.erase(http::field::origin);
  CHECK(code_of(page) == http_error::unauthorized);
}

TEST_CASE("a capability path carries the token in place of the header: that token, and nothing else, passes",
          "[api][guard]") {
  GuardOptions o = options();
  o.capability_prefix = "/mcp/";
  HttpRequest r = good_request();
  r.headers.erase(http::field::authorization);
  r.path = "/mcp/" + kToken;
  CHECK(code_of(r, o) == "");
  CHECK(code_of(r) == http_error::unauthorized);  // without the option it is an ordinary path
  for (const std::string& path :
       std::vector<std::string>{"/mcp/", "/mcp/" + kToken + "/", "/mcp/" + kToken + "x", "/mcp/" + kToken.substr(1),
                                "/mcp/" + std::string(64, 'b'), "/mcp/x/" + kToken}) {
    INFO(path);
    r.path = path;
    auto rejection = check_request(r, 11, o);
    REQUIRE(rejection);
    CHECK(rejection->status == http::status::unauthorized);
    CHECK(rejection->message.find(kToken) == std::string::npos);
    // The right header does not make a wrong path token right.
    HttpRequest with_header = r;
    with_header.headers.set(http::field::authorization, "Bearer " + kToken);
    CHECK(code_of(with_header, o) == http_error::unauthorized);
  }
  // Host and Origin apply as to every request.
  r.path = "/mcp/" + kToken;
  r.headers.set(http::field::origin, "http://evil.example");
  CHECK(code_of(r, o) == http_error::forbidden_origin);
  // /mcp itself is an ordinary path: the header.
  HttpRequest plain = good_request();
  plain.path = "/mcp";
  CHECK(code_of(plain, o) == "");
  plain.headers.erase(http::field::authorization);
  CHECK(code_of(plain, o) == http_error::unauthorized);
}

TEST_CASE("a body must be JSON: else 415 unsupported_media_type", "[api][guard]") {
  auto post = [](const char* content_type, const char* length) {
    HttpRequest r = good_request();
    r.method = http::verb::post;
    if (content_type) r.headers.set(http::field::content_type, content_type);
    if (length) r.headers.set(http::field::content_length, length);
    return r;
  };
  CHECK(code_of(post("application/json", "2")) == "");
  CHECK(code_of(post("application/json; charset=utf-8", "2")) == "");
  CHECK(code_of(post("Application/JSON ;charset=UTF-8", "2")) == "");
  CHECK(code_of(post(nullptr, "0")) == "");  // no body: no type needed
  CHECK(code_of(post(nullptr, nullptr)) == "");
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                           "application/jsonp", ""}) {
    INFO(type);
    auto rejection = check_request(post(type, "2"), 11, options());
    REQUIRE(rejection);
    CHECK(rejection->status == http::status::unsupported_media_type);
    CHECK(rejection->code == http_error::unsupported_media_type);
  }
  CHECK(code_of(post(nullptr, "2")) == http_error::unsupported_media_type);
  HttpRequest chunked = post("text/plain", nullptr);
  chunked.headers.set(http::field::transfer_encoding, "chunked");
  CHECK(code_of(chunked) == http_error::unsupported_media_type);
  HttpRequest put = post("text/plain", "5");
  put.method = http::verb::put;
  CHECK(code_of(put) == http_error::unsupported_media_type);
}

TEST_CASE("the token is checked before the content type: nothing about a request is judged without it",
          "[api][guard]") {
  HttpRequest r = good_request();
  r.method = http::verb::post;
  r.headers.set(http::field::content_length, "5");
  r.headers.set(http::field::content_type, "text/plain");
  r.headers.erase(http::field::authorization);
  CHECK(code_of(r) == http_error::unauthorized);
}

TEST_CASE("only HTTP/1.1 is served: 505", "[api][guard]") {
  auto rejection = check_request(good_request(), 10, options());
  REQUIRE(rejection);
  CHECK(rejection->status == http::status::http_version_not_supported);
  CHECK(rejection->code == http_error::http_version_not_supported);
}

TEST_CASE("constant_time_equal is equality, lengths included", "[api][guard]") {
  CHECK(constant_time_equal("", ""));
  CHECK(constant_time_equal("abc", "abc"));
  CHECK(constant_time_equal(kToken, kToken));
  CHECK_FALSE(constant_time_equal("abc", "abd"));
  CHECK_FALSE(constant_time_equal("abc", "bbc"));
  CHECK_FALSE(constant_time_equal("abc", "ab"));
  CHECK_FALSE(constant_time_equal("abc", "abcd"));
  CHECK_FALSE(constant_time_equal("abc", ""));
  CHECK_FALSE(constant_time_equal("", "a"));
  // Zero bytes pad a shorter one in the loop; the length still tells them apart.
  CHECK_FALSE(constant_time_equal(std::string("ab\0", 3), "ab"));
  CHECK_FALSE(constant_time_equal("ab", std::string("ab\0", 3)));
  // A length that differs by a multiple of 256 is not lost in a narrower type.
  CHECK_FALSE(constant_time_equal(std::string(256, 'x'), std::string(512, 'x')));
}
