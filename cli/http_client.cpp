#include "cli/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace agentron {
namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;

Result<HttpAnswer> http_json(const HttpUrl& base, const std::string& method, const std::string& path,
                             const nlohmann::json& body, int timeout_s) {
  std::string prefix = base.target == "/" ? "" : base.target;
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  std::string where = "http://" + base.host + ":" + base.port + prefix + path;
  try {
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(timeout_s));
    stream.connect(resolver.resolve(base.host, base.port));
    http::request<http::string_body> request{http::string_to_verb(method), prefix + path, 11};
    request.set(http::field::host, base.host + ":" + base.port);
    request.set(http::field::accept, "application/json");
    if (!body.is_null()) {
      request.set(http::field::content_type, "application/json");
      request.body() = body.dump();
      request.prepare_payload();
    }
    http::write(stream, request);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(16 * 1024 * 1024);
    http::read(stream, buffer, parser);
    beast::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    return HttpAnswer{static_cast<int>(parser.get().result_int()), parser.get().body()};
  } catch (const std::exception& e) {
    return Error{"http_failed", method + " " + where + ": " + e.what()};
  }
}

}  // namespace agentron
