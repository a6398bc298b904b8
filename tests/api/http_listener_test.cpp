// The listener's contract with its handler (api/http_message.h), over a real loopback
// socket: answers given later, streams, a client that goes away, keep-alive, and the
// answers the listener gives itself (413, 431, 503, a handler that throws). The loop runs
// on a thread of its own; the test is a plain blocking client with 5 s bounds.
#include "api/http_listener.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/unique_fd.h"

using namespace agentron;
namespace asio = boost::asio;

namespace {

const std::string kToken(64, 't');

// A listener on 127.0.0.1:<any> with `handler`, its loop on a thread.
class LoopListener {
 public:
  explicit LoopListener(HttpHandler handler, HttpListenerOptions options = {}) {
    options.token = kToken;
    auto listener = HttpListener::listen(io_, std::move(options), std::move(handler));
    REQUIRE(listener.ok());
    listener_ = std::move(listener.value());
    thread_ = std::thread([this] { io_.run(); });
  }

  // Runs `f` on the loop and waits for it.
  template <typename F>
  auto on_loop(F f) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto result = task.get_future();
    asio::post(io_, [&task] { task(); });
    REQUIRE(result.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
    return result.get();
  }

  ~LoopListener() {
    on_loop([this] { listener_.reset(); });
    work_.reset();
    thread_.join();
  }

  int port() const { return listener_->port(); }
  size_t open_connections() {
    return on_loop([this] { return listener_->open_connections(); });
  }

 private:
  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  std::unique_ptr<HttpListener> listener_;
  std::thread thread_;
};

// Responders the handler kept, handed to the test thread.
class Held {
 public:
  void add(std::shared_ptr<HttpResponder> r) {
    std::lock_guard lock(mutex_);
    held_.push_back(std::move(r));
    cv_.notify_all();
  }
  std::shared_ptr<HttpResponder> wait(size_t index) {
    std::unique_lock lock(mutex_);
    REQUIRE(cv_.wait_for(lock, std::chrono::seconds(5), [&] { return held_.size() > index; }));
    return held_[index];
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<HttpResponder>> held_;
};

class Client {
 public:
  explicit Client(int port) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    port_ = port;
  }

  void send(const std::string& bytes) {
    REQUIRE(::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
  }

  std::string request(const std::string& method, const std::string& path, const std::string& extra = "",
                      const std::string& body = "") {
    return method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port_) +
           "\r\nAuthorization: Bearer " + kToken + "\r\n" + extra +
           (body.empty()
                ? ""
                : "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n") +
           "\r\n" + body;
  }

  // Everything up to and including `marker` (REQUIRE: it comes within 5 s).
  std::string read_until(const std::string& marker) {
    while (buffer_.find(marker) == std::string::npos) REQUIRE(read_some());
    size_t end = buffer_.find(marker) + marker.size();
    std::string out = buffer_.substr(0, end);
    buffer_.erase(0, end);
    return out;
  }

  // One answer with a Content-Length: its head and body.
  std::pair<std::string, std::string> read_response() {
    std::string head = read_until("\r\n\r\n");
    auto at = head.find("Content-Length: ");
    REQUIRE(at != std::string::npos);
    size_t length = std::stoul(head.substr(at + 16));
    while (buffer_.size() < length) REQUIRE(read_some());
    std::string body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return {head, body};
  }

  // Whether the server closes the connection within 5 s (after what it still sends).
  bool closed_by_server() {
    while (read_some()) {
    }
    return eof_;
  }

 private:
  bool read_some() {
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) return false;
    char chunk[4096];
    ssize_t n = ::recv(fd_.get(), chunk, sizeof chunk, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  UniqueFd fd_;
  int port_ = 0;
  std::string buffer_;
  bool eof_ = false;
};

bool starts_with_status(const std::string& head, int status) {
  return head.starts_with("HTTP/1.1 " + std::to_string(status) + " ");
}

}  // namespace

TEST_CASE("an answer given later reaches the client, and the connection serves the next request", "[api][listener]") {
  Held held;
  LoopListener api([&](const HttpRequest& request, std::shared_ptr<HttpResponder> respond) {
    if (request.path == "/later") return held.add(std::move(respond));
    respond->respond(json_response(http::status::ok, {{"path", request.path}, {"query", request.query}}));
  });
  Client client(api.port());
  client.send(client.request("GET", "/later"));
  auto responder = held.wait(0);
  CHECK(api.on_loop([&] { return responder->connected(); }));
  api.on_loop([&] {
    HttpResponse r = json_response(http::status::accepted, {{"done", true}});
    r.headers.emplace_back("Location", "/v1/jobs/1");
    responder->respond(std::move(r));
  });
  auto [head, body] = client.read_response();
  CHECK(starts_with_status(head, 202));
  CHECK_THAT(head, Catch::Contains("Location: /v1/jobs/1\r\n"));
  CHECK_THAT(head, Catch::Contains("Content-Type: application/json\r\n"));
  CHECK(body == R"({"done":true})");
  CHECK_FALSE(api.on_loop([&] { return responder->connected(); }));
  api.on_loop([&] { responder->respond(json_response(http::status::ok, {{"again", true}})); });  // ignored

  client.send(client.request("GET", "/next?x=1"));
  auto [head2, body2] = client.read_response();
  CHECK(starts_with_status(head2, 200));
  CHECK(body2 == R"({"path":"/next","query":"x=1"})");
  CHECK(api.open_connections() == 1);
}

TEST_CASE("a stream goes out chunk by chunk, and the connection serves the next request", "[api][listener]") {
  Held held;
  LoopListener api([&](const HttpRequest& request, std::shared_ptr<HttpResponder> respond) {
    if (request.path == "/events") return held.add(std::move(respond));
    respond->respond(json_response(http::status::ok, {{"ok", true}}));
  });
  Client client(api.port());
  client.send(client.request("GET", "/events", "Accept: text/event-stream\r\n"));
  auto stream = held.wait(0);
  api.on_loop([&] { stream->start_stream(http::status::ok, "text/event-stream", {{"X-Stream", "1"}}); });
  std::string head = client.read_until("\r\n\r\n");
  CHECK(starts_with_status(head, 200));
  CHECK_THAT(head, Catch::Contains("Content-Type: text/event-stream\r\n"));
  CHECK_THAT(head, Catch::Contains("Transfer-Encoding: chunked\r\n"));
  CHECK_THAT(head, Catch::Contains("X-Stream: 1\r\n"));
  // Each send() arrives without waiting for the next.
  api.on_loop([&] { stream->send("data: one\n\n"); });
  CHECK(client.read_until("data: one\n\n\r\n") == "b\r\ndata: one\n\n\r\n");
  api.on_loop([&] {
    stream->send("");  // nothing
    stream->send(std::string(300, 'x'));
    stream->finish();
    stream->send("late");  // ignored
  });
  CHECK(client.read_until("0\r\n\r\n") == "12c\r\n" + std::string(300, 'x') + "\r\n0\r\n\r\n");
  client.send(client.request("GET", "/ping"));
  auto [head2, body2] = client.read_response();
  CHECK(body2 == R"({"ok":true})");
}

TEST_CASE("a client that goes away while its answer is prepared: on_disconnect runs, responding does nothing",
          "[api][listener]") {
  Held held;
  std::promise<void> disconnected;
  LoopListener api([&](const HttpRequest&, std::shared_ptr<HttpResponder> respond) {
    respond->on_disconnect([&] { disconnected.set_value(); });
    held.add(std::move(respond));
  });
  {
    Client client(api.port());
    client.send(client.request("GET", "/slow"));
    held.wait(0);
  }  // closed
  REQUIRE(disconnected.get_future().wait_for(std::chrono::seconds(5)) == std::future_status::ready);
  auto responder = held.wait(0);
  CHECK(api.open_connections() == 0);
  CHECK_FALSE(api.on_loop([&] { return responder->connected(); }));
  api.on_loop([&] { responder->respond(json_response(http::status::ok, {})); });
  bool called = false;
  api.on_loop([&] { responder->on_disconnect([&] { called = true; }); });
  CHECK(called);  // already gone: at once
}

TEST_CASE("a client that goes away in the middle of a stream stops it", "[api][listener]") {
  Held held;
  std::promise<void> disconnected;
  LoopListener api([&](const HttpRequest&, std::shared_ptr<HttpResponder> respond) {
    respond->start_stream(http::status::ok, "text/event-stream");
    respond->on_disconnect([&] { disconnected.set_value(); });
    held.add(std::move(respond));
  });
  {
    Client client(api.port());
    client.send(client.request("GET", "/events"));
    client.read_until("\r\n\r\n");
  }
  REQUIRE(disconnected.get_future().wait_for(std::chrono::seconds(5)) == std::future_status::ready);
  auto stream = held.wait(0);
  CHECK_FALSE(api.on_loop([&] { return stream->connected(); }));
}

TEST_CASE("on_disconnect never runs for an answer that was sent whole", "[api][listener]") {
  bool called = false;
  LoopListener api([&](const HttpRequest&, std::shared_ptr<HttpResponder> respond) {
    respond->on_disconnect([&] { called = true; });
    respond->respond(json_response(http::status::ok, {}));
  });
  {
    Client client(api.port());
    client.send(client.request("GET", "/x", "Connection: close\r\n"));
    client.read_response();
    CHECK(client.closed_by_server());
  }
  CHECK_FALSE(api.on_loop([&] { return called; }));
}

TEST_CASE("a body within max_body reaches the handler; one over it is 413 before the handler", "[api][listener]") {
  HttpListenerOptions options;
  options.max_body = 1024;
  int handled = 0;
  LoopListener api(
      [&](const HttpRequest& request, std::shared_ptr<HttpResponder> respond) {
        ++handled;
        respond->respond(json_response(http::status::ok, {{"size", request.body.size()}}));
      },
      options);
  std::string fits = "\"" + std::string(1022, 'a') + "\"";
  Client client(api.port());
  client.send(client.request("POST", "/x", "", fits));
  CHECK(client.read_response().second == R"({"size":1024})");

  Client declared(api.port());  // Content-Length says so: refused before a byte of body is read
  declared.send(declared.request("POST", "/x", "", fits + " "));
  auto [head, body] = declared.read_response();
  CHECK(starts_with_status(head, 413));
  CHECK(nlohmann::json::parse(body)["error"]["code"] == "body_too_large");
  CHECK(declared.closed_by_server());

  Client chunked(api.port());  // no length given: refused once it has sent too much
  std::string request =
      chunked.request("POST", "/x", "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n");
  chunked.send(request + "400\r\n" + std::string(1024, ' ') + "\r\n1\r\n \r\n0\r\n\r\n");
  auto [head2, body2] = chunked.read_response();
  CHECK(starts_with_status(head2, 413));
  CHECK(chunked.closed_by_server());
  CHECK(api.on_loop([&] { return handled; }) == 1);
}

TEST_CASE("Expect: 100-continue is answered before the body is read", "[api][listener]") {
  LoopListener api([&](const HttpRequest& request, std::shared_ptr<HttpResponder> respond) {
    respond->respond(json_response(http::status::ok, {{"body", request.body}}));
  });
  Client client(api.port());
  std::string request = client.request("POST", "/x", "Expect: 100-continue\r\n", "[1]");
  client.send(request.substr(0, request.size() - 3));
  CHECK(client.read_until("\r\n\r\n") == "HTTP/1.1 100 Continue\r\n\r\n");
  client.send("[1]");
  CHECK(client.read_response().second == R"({"body":"[1]"})");
}

TEST_CASE("headers over 16 KiB are 431, malformed HTTP 400; both close the connection", "[api][listener]") {
  LoopListener api([](const HttpRequest&, std::shared_ptr<HttpResponder> respond) {
    respond->respond(json_response(http::status::ok, {}));
  });
  Client big(api.port());
  big.send(big.request("GET", "/x", "X-Big: " + std::string(17 * 1024, 'b') + "\r\n"));
  auto [head, body] = big.read_response();
  CHECK(starts_with_status(head, 431));
  CHECK(nlohmann::json::parse(body)["error"]["code"] == "headers_too_large");
  CHECK(big.closed_by_server());

  Client bad(api.port());
  bad.send("NOT HTTP\r\n\r\n");
  auto [head2, body2] = bad.read_response();
  CHECK(starts_with_status(head2, 400));
  CHECK(nlohmann::json::parse(body2)["error"]["code"] == "bad_request");
  CHECK(bad.closed_by_server());
}

TEST_CASE("a handler that throws is answered 500 and the listener goes on", "[api][listener]") {
  LoopListener api([](const HttpRequest& request, std::shared_ptr<HttpResponder> respond) {
    if (request.path == "/bug") throw std::runtime_error("a bug");
    respond->respond(json_response(http::status::ok, {}));
  });
  Client client(api.port());
  client.send(client.request("GET", "/bug"));
  auto [head, body] = client.read_response();
  CHECK(starts_with_status(head, 500));
  CHECK(nlohmann::json::parse(body)["error"]["code"] == "internal_error");
  client.send(client.request("GET", "/fine"));
  CHECK(starts_with_status(client.read_response().first, 200));
}

TEST_CASE("at max_connections a new connection gets 503 and is closed; the open ones go on", "[api][listener]") {
  HttpListenerOptions options;
  options.max_connections = 2;
  LoopListener api(
      [](const HttpRequest&, std::shared_ptr<HttpResponder> respond) {
        respond->respond(json_response(http::status::ok, {}));
      },
      options);
  Client first(api.port()), second(api.port());
  first.send(first.request("GET", "/x"));  // both accepted before the third connects
  first.read_response();
  second.send(second.request("GET", "/x"));
  second.read_response();
  Client third(api.port());
  auto [head, body] = third.read_response();
  CHECK(starts_with_status(head, 503));
  CHECK(nlohmann::json::parse(body)["error"]["code"] == "too_many_connections");
  CHECK(third.closed_by_server());
  first.send(first.request("GET", "/x"));
  CHECK(starts_with_status(first.read_response().first, 200));
  CHECK(api.open_connections() == 2);
}

TEST_CASE("a request the guard refuses never reaches the handler", "[api][listener]") {
  int handled = 0;
  LoopListener api([&](const HttpRequest&, std::shared_ptr<HttpResponder> respond) {
    ++handled;
    respond->respond(json_response(http::status::ok, {}));
  });
  Client client(api.port());
  client.send("GET /x HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(api.port()) + "\r\n\r\n");
  auto [head, body] = client.read_response();
  CHECK(starts_with_status(head, 401));
  CHECK_THAT(head, Catch::Contains("WWW-Authenticate: Bearer\r\n"));
  CHECK(nlohmann::json::parse(body)["error"]["code"] == "unauthorized");
  CHECK(client.closed_by_server());
  CHECK(api.on_loop([&] { return handled; }) == 0);
}
