// An HttpResponder for handler tests without a socket: it records what the handler
// answered (api/http_message.h). `disconnect()` plays a client that went away.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "api/http_message.h"

namespace agentron::testing {

class RecordingResponder : public HttpResponder {
 public:
  void respond(HttpResponse r) override {
    if (connected_ && !response && !stream_status) response = std::move(r);
  }
  void start_stream(http::status status, std::string content_type, HttpHeaders headers) override {
    if (!connected_ || response || stream_status) return;
    stream_status = status;
    stream_content_type = std::move(content_type);
    stream_headers = std::move(headers);
  }
  void send(std::string data) override {
    if (connected_ && stream_status && !finished) chunks.push_back(std::move(data));
  }
  void finish() override { finished = connected_ && stream_status; }
  bool connected() const override { return connected_ && !response && !finished; }
  void on_disconnect(std::function<void()> callback) override { callbacks_.push_back(std::move(callback)); }

  void disconnect() {
    connected_ = false;
    for (auto& callback : std::exchange(callbacks_, {})) callback();
  }

  std::optional<HttpResponse> response;
  std::optional<http::status> stream_status;
  std::string stream_content_type;
  HttpHeaders stream_headers;
  std::vector<std::string> chunks;
  bool finished = false;

 private:
  bool connected_ = true;
  std::vector<std::function<void()>> callbacks_;
};

}  // namespace agentron::testing
