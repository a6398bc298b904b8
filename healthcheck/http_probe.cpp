#include "healthcheck/http_probe.h"

#include <array>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <optional>

namespace agentron {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// One try's state, kept alive by its own handlers: the Probe may go away while a
// try is in flight (the answer is then dropped by while_alive()).
struct Attempt : std::enable_shared_from_this<Attempt> {
  Attempt(asio::io_context& io, Probe::Done done) : resolver(io), stream(io), done(std::move(done)) {}

  void fail(const std::string& what, const beast::error_code& ec) {
    std::string message = ec == beast::error::timeout ? "timed out" : ec.message();
    done(Error{"probe_failed", what + ": " + message});
  }

  tcp::resolver resolver;
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  http::request<http::empty_body> request;
  http::response_parser<http::string_body> parser;
  Probe::Done done;
};

// host:port as an endpoint when host is an IP address, not a name.
std::optional<tcp::endpoint> address_endpoint(const std::string& host, const std::string& port) {
  beast::error_code not_an_address;
  auto address = asio::ip::make_address(host, not_an_address);
  unsigned short number = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
  if (not_an_address || ec != std::errc() || end != port.data() + port.size()) return std::nullopt;
  return tcp::endpoint(address, number);
}

void connect(const std::shared_ptr<Attempt>& a, const std::string& host, const std::string& port,
             std::function<void()> connected) {
  auto on_connect = [a, connected](const beast::error_code& ec, const tcp::endpoint&) {
    if (ec) return a->fail("cannot connect", ec);
    connected();
  };
  // An address (the default, 127.0.0.1) needs no resolving, and Asio's resolver starts
  // a thread of its own on first use that lives as long as the loop.
  if (auto endpoint = address_endpoint(host, port)) {
    return a->stream.async_connect(std::array{*endpoint}, std::move(on_connect));
  }
  a->resolver.async_resolve(host, port, [a, on_connect](const beast::error_code& ec, tcp::resolver::results_type r) {
    if (ec) return a->fail("cannot resolve", ec);
    a->stream.async_connect(r, on_connect);
  });
}

class HttpProbe : public Probe {
 public:
  HttpProbe(asio::io_context& io, HttpUrl url, Duration try_timeout)
      : io_(io), url_(std::move(url)), try_timeout_(try_timeout) {}

  void try_once(Done done) override {
    auto a = std::make_shared<Attempt>(io_, while_alive(alive_, std::move(done)));
    a->stream.expires_after(try_timeout_);
    a->request = {http::verb::get, url_.target, 11};
    a->request.set(http::field::host, url_.host + ":" + url_.port);
    a->request.set(http::field::user_agent, "agentron-supervisor readiness probe");
    a->request.set(http::field::connection, "close");
    a->parser.body_limit(64 * 1024);
    std::string where = "GET http://" + url_.host + ":" + url_.port + url_.target;
    connect(a, url_.host, url_.port, [a, where] {
      http::async_write(a->stream, a->request, [a, where](const beast::error_code& ec, size_t) {
        if (ec) return a->fail(where, ec);
        http::async_read(a->stream, a->buffer, a->parser, [a, where](const beast::error_code& ec, size_t) {
          if (ec) return a->fail(where, ec);
          unsigned code = a->parser.get().result_int();
          beast::error_code ignored;
          a->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
          if (code >= 200 && code < 300) return a->done(ok_status());
          a->done(Error{"probe_failed", where + ": answered " + std::to_string(code)});
        });
      });
    });
  }

 private:
  asio::io_context& io_;
  HttpUrl url_;
  Duration try_timeout_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

class TcpProbe : public Probe {
 public:
  TcpProbe(asio::io_context& io, std::string host, std::string port, Duration try_timeout)
      : io_(io), host_(std::move(host)), port_(std::move(port)), try_timeout_(try_timeout) {}

  void try_once(Done done) override {
    auto a = std::make_shared<Attempt>(io_, while_alive(alive_, std::move(done)));
    a->stream.expires_after(try_timeout_);
    connect(a, host_, port_, [a] {
      beast::error_code ignored;
      a->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      a->done(ok_status());
    });
  }

 private:
  asio::io_context& io_;
  std::string host_;
  std::string port_;
  Duration try_timeout_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace

Result<HttpUrl> parse_http_url(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) return Error{"bad_url", "not an http:// URL: " + url};
  std::string rest = url.substr(scheme.size());
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  HttpUrl out;
  out.target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (authority.empty()) return Error{"bad_url", "no host in " + url};
  if (authority.front() == '[') {  // [::1]:3000
    size_t close = authority.find(']');
    if (close == std::string::npos) return Error{"bad_url", "unclosed [ in " + url};
    out.host = authority.substr(1, close - 1);
    out.port = close + 1 < authority.size() && authority[close + 1] == ':' ? authority.substr(close + 2) : "80";
  } else {
    size_t colon = authority.rfind(':');
    out.host = authority.substr(0, colon);
    out.port = colon == std::string::npos ? "80" : authority.substr(colon + 1);
  }
  if (out.port.empty() || out.port.find_first_not_of("0123456789") != std::string::npos) {
    return Error{"bad_url", "bad port in " + url};
  }
  return out;
}

std::unique_ptr<Probe> make_http_probe(asio::io_context& io, HttpUrl url, Duration try_timeout) {
  return std::make_unique<HttpProbe>(io, std::move(url), try_timeout);
}

std::unique_ptr<Probe> make_tcp_probe(asio::io_context& io, std::string host, std::string port, Duration try_timeout) {
  return std::make_unique<TcpProbe>(io, std::move(host), std::move(port), try_timeout);
}

}  // namespace agentron
