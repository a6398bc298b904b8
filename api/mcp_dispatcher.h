// The MCP endpoint's JSON-RPC (docs/agent-tools.md, "MCP"): what one HTTP request to
// /mcp asks for, answered as the Streamable HTTP transport says — for the handshake
// revisions 2025-03-26, 2025-06-18 and 2025-11-25 (initialize, a session) and the
// stateless 2026-07-28 (every request carries its revision in _meta). Pure: no sockets,
// no supervisor. A tools/call is handed back as a CallTool for the caller to carry out
// through ControlApi — the code path of POST /v1/tools/<name> — and its answer is turned
// into the tool result here (tool_result). tests/api/mcp_dispatcher_test.cpp.
//
// A POST, in order:
//   Accept lists application/json and text/event-stream      else 406
//   the body is JSON                                         else 400, -32700
//   a request of the stateless revision (_meta names it):
//     MCP-Protocol-Version, Mcp-Method (and Mcp-Name) match  else 400, -32020
//     a revision we speak                                    else 400, -32022 (with the ones we do)
//   else initialize: a new session (Mcp-Session-Id), the client's revision or our newest
//   else Mcp-Session-Id present                              else 400
//        and known                                           else 404 (the client starts anew)
//        MCP-Protocol-Version, if sent, a revision we speak   else 400
//        a batch only in a 2025-03-26 session                 else 400, -32600
//   then each message: a notification or a response → nothing (202 when all are);
//   a request → its answer (-32600 malformed, -32601 unknown method, -32602 bad params).
// GET → 405 (no server-initiated stream is offered); DELETE → ends the session.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "api/http_message.h"
#include "api/mcp_sessions.h"
#include "api/router.h"

namespace agentron {

namespace mcp {
inline constexpr const char* k2025_03_26 = "2025-03-26";
inline constexpr const char* k2025_06_18 = "2025-06-18";
inline constexpr const char* k2025_11_25 = "2025-11-25";
inline constexpr const char* k2026_07_28 = "2026-07-28";  // stateless: no initialize, no session

// Every revision the endpoint speaks, newest first.
const std::vector<std::string>& supported_versions();
bool is_supported(const std::string& version);
// A handshake revision (2025-03-26 … 2025-11-25), as opposed to the stateless one.
bool is_legacy(const std::string& version);
// The revision initialize answers with when the client asks for one we do not speak.
inline constexpr const char* kNewestLegacy = k2025_11_25;

// JSON-RPC and MCP error codes.
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kServerError = -32000;      // transport refusals: Accept, a missing session
inline constexpr int kSessionNotFound = -32001;  // as the official SDK answers an unknown session
inline constexpr int kHeaderMismatch = -32020;
inline constexpr int kUnsupportedVersion = -32022;

// The MCP logging levels, least severe first.
const std::vector<std::string>& log_levels();
// True if a message at `level` passes a session whose level is `threshold` ("" passes none).
bool log_passes(const std::string& threshold, const std::string& level);

// {"jsonrpc":"2.0","method":"notifications/progress","params":{…}}
nlohmann::json progress_notification(const nlohmann::json& token, double progress, const std::string& message);
// {"jsonrpc":"2.0","method":"notifications/message","params":{level, logger, data}}
nlohmann::json log_notification(const std::string& level, const std::string& logger, const std::string& data);
// One Server-Sent Event carrying `message`: "event: message\ndata: {…}\n\n".
std::string sse_event(const nlohmann::json& message);
}  // namespace mcp

// An HTTP answer: `body` null means none (202, the end of a session).
struct McpReply {
  int status = 200;
  nlohmann::json body;
  HttpHeaders headers;
};

// A tools/call to carry out through ControlApi::handle. REQUIRES of the caller: answer
// it with McpDispatcher::tool_result.
struct McpToolCall {
  nlohmann::json id;
  CallTool call;
  std::string version;
  nlohmann::json progress_token;  // null: the client asked for no progress
  std::string log_level;          // the session's (or the request's) level: "" sends no log notifications
  // Answer as an SSE stream with progress (and log) notifications while the job runs:
  // the client asked for progress and the tool is a long job.
  bool stream = false;
};

// What a POST asks for: the answers known now and the tool calls to make, in the
// order of the messages (a 2025-03-26 batch may hold several).
struct McpExchange {
  // For each request: its answer, or the tool call whose result is its answer.
  std::vector<std::variant<nlohmann::json, McpToolCall>> slots;
  bool batch = false;
  HttpHeaders headers;  // Mcp-Session-Id on initialize's answer
};

// Either the HTTP answer now, or an exchange with tool calls to make first.
using McpPlan = std::variant<McpReply, McpExchange>;

struct McpServerInfo {
  std::string name = "agentron-supervisor";
  std::string title = "Agentron supervisor";
  std::string version;
  std::string instructions;  // for the model: what this server is for
};

class McpDispatcher {
 public:
  // `offered`: the tools [control] tools offers, in catalog order.
  McpDispatcher(McpSessions& sessions, std::vector<const ToolSpec*> offered, McpServerInfo info);

  // One HTTP request to the endpoint (its headers and body; the guard has passed it).
  McpPlan handle(const HttpRequest& request);

  // The JSON-RPC answer to `call`, from ControlApi's answer: structuredContent (the JSON
  // POST /v1/tools/<name> answers) and a text rendering; a failed tool (any non-2xx) is
  // a result with isError: true and the reason, not a JSON-RPC error.
  nlohmann::json tool_result(const McpToolCall& call, const ApiResponse& answer) const;

  // The HTTP answer once every tool call of `exchange` has its answer in `results`
  // (one per McpToolCall slot, in order).
  static McpReply finish(const McpExchange& exchange, const std::vector<nlohmann::json>& results);

 private:
  McpPlan post(const HttpRequest& request);
  // The session a request names, with a revision header it may send; else the refusal.
  std::variant<McpSession*, McpReply> session_of(const HttpRequest& request);
  // A request of a handshake revision, in its session: one message, or a batch.
  McpPlan in_session(McpSession& session, const nlohmann::json& body);
  McpPlan stateless(const HttpRequest& request, const nlohmann::json& message);
  // Why a stateless request is refused (its _meta, its headers), if it is.
  std::optional<McpReply> stateless_refusal(const HttpRequest& request, const nlohmann::json& message) const;
  McpPlan initialize(const nlohmann::json& message);
  // One message of a session: nullopt for a notification or a response.
  std::optional<std::variant<nlohmann::json, McpToolCall>> answer(McpSession* session, const std::string& version,
                                                                  const nlohmann::json& message);
  std::variant<nlohmann::json, McpToolCall> call_tool(const nlohmann::json& id, const nlohmann::json& params,
                                                      const std::string& version, const std::string& log_level);
  nlohmann::json list_tools(const std::string& version) const;
  nlohmann::json capabilities(const std::string& version) const;
  nlohmann::json server_info(const std::string& version) const;
  // A result of the stateless revision gains resultType and the server's identity.
  nlohmann::json complete(nlohmann::json result, const std::string& version) const;
  McpReply end_session(const HttpRequest& request);

  McpSessions& sessions_;
  std::vector<const ToolSpec*> offered_;
  McpServerInfo info_;
};

}  // namespace agentron
