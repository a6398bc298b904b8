#include "supervisor/mcp_endpoint.h"

#include <spdlog/spdlog.h>

#include "api/api_token.h"
#include "api/output_follower.h"

namespace agentron {

using nlohmann::json;

namespace {

constexpr size_t kMessageLines = 5;      // a progress message: the last lines of a burst
constexpr size_t kLogBytes = 16 * 1024;  // a log notification: at most this of a burst
constexpr size_t kLineBytes = 300;

std::vector<const ToolSpec*> offered_tools(const ControlConfig& control) {
  std::vector<const ToolSpec*> tools;
  for (const auto& tool : tool_catalog()) {
    const auto& only = control.tools;
    if (!only || std::find(only->begin(), only->end(), tool.name) != only->end()) tools.push_back(&tool);
  }
  return tools;
}

McpServerInfo server_info() {
  McpServerInfo info;
  info.version = AGENTRON_VERSION;
  info.instructions =
      "agentron-supervisor runs Agentron and lets its agent improve Agentron in its own fork: clone or pull the "
      "fork, create a branch, change code and docs, commit, run the build and the tests, push to the fork (never "
      "the upstream), then launch_new_agentron to restart into the pushed commit — verified on the same data, "
      "rolled back if it fails. Follow a launch with restart_status; platform_history shows every earlier attempt.";
  return info;
}

std::string new_session_id() {
  auto id = random_hex(16);
  // getrandom does not fail for 16 bytes once the pool is ready; without it no id is safe to hand out.
  if (!id) throw std::runtime_error(id.error().message);
  return *id;
}

HttpResponse http_of(const McpReply& reply) {
  HttpResponse response;
  response.status = static_cast<http::status>(reply.status);
  response.body = reply.body.is_null() ? "" : reply.body.dump(-1, ' ', false, json::error_handler_t::replace);
  response.headers = reply.headers;
  return response;
}

std::string cut(const std::string& line) { return line.size() > kLineBytes ? line.substr(0, kLineBytes) + "…" : line; }

}  // namespace

// A tools/call answered as Server-Sent Events while its job runs.
struct McpEndpoint::Stream {
  McpToolCall call;
  std::shared_ptr<HttpResponder> out;
  std::unique_ptr<OutputFollower> follower;
  std::vector<std::string> gathered;  // output lines not yet reported
  Timer gather;                       // armed while lines are gathered
  Timer heartbeat;                    // re-armed by every notification
  TimePoint started;
  double progress = 0;
  bool ended = false;

  void send(const json& message) { out->send(mcp::sse_event(message)); }

  // One progress notification (and the lines as a log message, if the client set a level).
  void report(Clock& clock, const std::string& message, const std::vector<std::string>& lines) {
    if (ended) return;
    send(mcp::progress_notification(call.progress_token, ++progress, message));
    if (!lines.empty() && mcp::log_passes(call.log_level, "info")) {
      std::string text;
      for (const auto& line : lines) {
        if (text.size() + line.size() > kLogBytes) break;
        text += line + "\n";
      }
      send(mcp::log_notification("info", call.call.tool->name, text));
    }
    arm_heartbeat(clock);
  }

  void report_gathered(Clock& clock) {
    if (gathered.empty()) return;
    std::vector<std::string> lines = std::exchange(gathered, {});
    std::string message;
    for (size_t i = lines.size() > kMessageLines ? lines.size() - kMessageLines : 0; i < lines.size(); ++i)
      message += (message.empty() ? "" : "\n") + cut(lines[i]);
    report(clock, message, lines);
  }

  void arm_heartbeat(Clock& clock) {
    std::weak_ptr<Stream> weak = self;
    heartbeat = clock.start_timer(kHeartbeat, [weak, &clock] {
      auto s = weak.lock();
      if (!s || s->ended) return;
      auto seconds = std::chrono::duration_cast<std::chrono::seconds>(clock.now() - s->started).count();
      s->report(clock, s->call.call.tool->name + " running for " + std::to_string(seconds) + " s", {});
    });
  }

  void end() {
    ended = true;
    follower.reset();
    gather.reset();
    heartbeat.reset();
  }

  std::weak_ptr<Stream> self;
};

McpEndpoint::McpEndpoint(boost::asio::io_context& io, Clock& clock, ControlApi& api, const ControlConfig& control)
    : io_(io),
      clock_(clock),
      api_(api),
      sessions_(clock, new_session_id),
      dispatcher_(sessions_, offered_tools(control), server_info()) {}

McpEndpoint::~McpEndpoint() { alive_.reset(); }

bool McpEndpoint::owns(std::string_view path) { return path == "/mcp" || path.rfind(kCapabilityPrefix, 0) == 0; }

void McpEndpoint::handle(const HttpRequest& request, std::shared_ptr<HttpResponder> responder) {
  McpPlan plan = dispatcher_.handle(request);
  if (auto* reply = std::get_if<McpReply>(&plan)) return responder->respond(http_of(*reply));
  carry_out(std::move(std::get<McpExchange>(plan)), std::move(responder));
}

void McpEndpoint::carry_out(McpExchange exchange, std::shared_ptr<HttpResponder> responder) {
  std::vector<McpToolCall> calls;
  for (const auto& slot : exchange.slots) {
    if (const auto* call = std::get_if<McpToolCall>(&slot)) calls.push_back(*call);
  }
  if (calls.size() == 1 && !exchange.batch && calls.front().stream)
    return stream(std::move(calls.front()), exchange.headers, std::move(responder));
  // Every call through the HTTP tools' code path; the answer once all have theirs.
  struct Pending {
    McpExchange exchange;
    std::vector<json> results;
    size_t left = 0;
  };
  auto pending = std::make_shared<Pending>(Pending{std::move(exchange), std::vector<json>(calls.size()), calls.size()});
  std::weak_ptr<int> alive = alive_;
  for (size_t i = 0; i < calls.size(); ++i) {
    api_.handle(ApiCall{calls[i].call}, ApiRole::agent,
                [this, alive, pending, responder, call = calls[i], i](ApiResponse answer) {
                  if (!alive.lock()) return;
                  pending->results[i] = dispatcher_.tool_result(call, answer);
                  if (--pending->left == 0)
                    responder->respond(http_of(McpDispatcher::finish(pending->exchange, pending->results)));
                });
  }
}

void McpEndpoint::stream(McpToolCall call, const HttpHeaders& headers, std::shared_ptr<HttpResponder> responder) {
  auto s = std::make_shared<Stream>();
  s->self = s;
  s->call = std::move(call);
  s->out = responder;
  s->started = clock_.now();
  HttpHeaders stream_headers = headers;
  stream_headers.emplace_back("X-Accel-Buffering", "no");  // a proxy in between passes each event on at once
  responder->start_stream(http::status::ok, "text/event-stream", std::move(stream_headers));
  std::weak_ptr<Stream> weak = s;
  responder->on_disconnect([weak] {
    if (auto gone = weak.lock()) gone->end();  // the job runs on; job_status finds it
  });
  std::weak_ptr<int> alive = alive_;
  Clock& clock = clock_;
  auto started = [this, alive, weak, &clock](const std::string& job_id, const std::filesystem::path& output) {
    auto s = weak.lock();
    if (!alive.lock() || !s || s->ended) return;
    s->report(clock, s->call.call.tool->name + " started as job " + job_id, {});
    auto follower = OutputFollower::follow(io_, output, [weak, &clock](std::vector<std::string> lines) {
      auto s = weak.lock();
      if (!s || s->ended) return;
      s->gathered.insert(s->gathered.end(), lines.begin(), lines.end());
      if (s->gather.armed()) return;
      s->gather = clock.start_timer(kGather, [weak, &clock] {
        if (auto s = weak.lock()) s->report_gathered(clock);
      });
    });
    if (!follower) {
      spdlog::warn("MCP: no progress for job {}: {}", job_id, follower.error().message);
      return;
    }
    s->follower = std::move(*follower);
  };
  api_.handle(
      ApiCall{s->call.call}, ApiRole::agent,
      [this, alive, s, &clock](ApiResponse answer) {
        if (!alive.lock()) return;
        if (s->follower) s->follower->flush();
        s->gather.reset();
        s->report_gathered(clock);
        if (!s->ended) {
          s->send(dispatcher_.tool_result(s->call, answer));
          s->out->finish();
        }
        s->end();
      },
      started);
}

}  // namespace agentron
