// The MCP endpoint on the control API's listener (docs/agent-tools.md, "MCP"): /mcp,
// and /mcp/<token> for clients that cannot send an Authorization header (the guard,
// api/request_guard.h, has checked either before a request gets here). The protocol is
// api/mcp_dispatcher.h's; this is its transport: it answers what the dispatcher says,
// carries every tools/call out through ControlApi::handle — the code path of POST
// /v1/tools/<name>, with the agent's rights (ApiRole::agent, whichever token came) — and, when the client asked for
// progress on a long job, answers as Server-Sent Events: a progress notification when the job starts, one per burst of
// its output (and a heartbeat while it is quiet), then the result. A client that goes away stops the stream, not the
// job: job_status finds it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string_view>

#include "api/http_message.h"
#include "api/mcp_dispatcher.h"
#include "api/mcp_sessions.h"
#include "common/clock.h"
#include "config/config.h"
#include "supervisor/control_api.h"

namespace agentron {

class McpEndpoint {
 public:
  McpEndpoint(boost::asio::io_context& io, Clock& clock, ControlApi& api, const ControlConfig& control);
  ~McpEndpoint();
  McpEndpoint(const McpEndpoint&) = delete;
  McpEndpoint& operator=(const McpEndpoint&) = delete;

  // The path prefix of the capability form, for the guard (GuardOptions::capability_prefix).
  static constexpr std::string_view kCapabilityPrefix = "/mcp/";
  // Whether `path` is the endpoint's: "/mcp" or "/mcp/<anything>".
  static bool owns(std::string_view path);

  void handle(const HttpRequest& request, std::shared_ptr<HttpResponder> responder);

  // Between progress notifications: output is gathered this long; a quiet job is
  // reported this often.
  static constexpr Duration kGather = std::chrono::milliseconds(250);
  static constexpr Duration kHeartbeat = std::chrono::seconds(10);

 private:
  struct Stream;
  void carry_out(McpExchange exchange, std::shared_ptr<HttpResponder> responder);
  void stream(McpToolCall call, const HttpHeaders& headers, std::shared_ptr<HttpResponder> responder);

  boost::asio::io_context& io_;
  Clock& clock_;
  ControlApi& api_;
  McpSessions sessions_;
  McpDispatcher dispatcher_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace agentron
