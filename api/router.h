// The control API's routes (docs/agent-tools.md): an HTTP method, path, query and
// JSON body → one typed ApiCall, or an ApiError with its status. Pure: no sockets, no
// supervisor; supervisor/control_api.h carries the calls out, the listener
// (api/http_listener.h) carries the bytes. Bodies are checked here — fields, types,
// tool inputs against their schemas — so nothing runs on a request that is wrong.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>

#include "api/api_role.h"
#include "api/tool_catalog.h"
#include "control/protocol.h"

namespace agentron {

struct ApiError {
  int status = 400;
  std::string code;
  std::string message;
  nlohmann::json body() const { return {{"error", {{"code", code}, {"message", message}}}}; }
};

struct ApiRequest {
  ApiRole role = ApiRole::none;  // whose token it carried (api/api_role.h)
  std::string method;            // "GET", "POST", ...
  std::string path;              // without the query
  std::map<std::string, std::string> query;
  std::string body;
};

struct ApiResponse {
  int status = 200;
  nlohmann::json body;
};

struct GetHistory {
  int limit = 50;
  std::string kind;  // only events of this kind; "" all
};
struct GetRequests {
  int limit = 50;
  int offset = 0;  // newest first: skip this many (paging)
};
struct GetRequest {
  std::string id;
};
// POST /v1/requests and launch_new_agentron: the fields of a restart request.
struct PostRestartRequest {
  std::string branch, commit, summary, requested_by, run_id;
  std::string when = "now";  // or "idle"
};
struct GetBackups {};
struct PostBackup {};
struct GetJob {
  std::string id;
};
struct ListTools {};
struct Ping {};  // GET /v1/ping: the API answers (and the token was right)
struct CallTool {
  const ToolSpec* tool = nullptr;
  nlohmann::json input;  // valid against tool->input_schema
};

using ApiCall = std::variant<StatusRequest, GetHistory, GetRequests, GetRequest, PostRestartRequest, ApproveRequest,
                             DenyRequest, RollbackRequest, GetBackups, PostBackup, GetJob, ListTools, CallTool, Ping>;

// The call `request` asks for, or why not: 404 unknown path, 405 a known path with
// another method, 400 a body or query that is wrong (the message names the field).
std::variant<ApiCall, ApiError> route(const ApiRequest& request);

// A call of the tool `name` with `input` (POST /v1/tools/<name>, and MCP's tools/call):
// 404 unknown_tool for a name not in the catalog, 400 naming the field for an input its
// schema refuses. An optional field sent as null counts as left out.
std::variant<ApiCall, ApiError> route_tool_call(const std::string& name, const nlohmann::json& input);

// Whether `call` is the operator's to make alone (approve, deny, rollback, a snapshot now):
// the agent's token is refused it with 403 operator_only (docs/agent-tools.md, "Security").
bool operator_only(const ApiCall& call);

// The status an Error's code answers with: 404 not found, 409 conflict (a handover, a
// job or a backup in flight), 503 shutting down, 500 internal, else 400 (docs/agent-tools.md).
int http_status_for(const std::string& code);
ApiError api_error(const Error& error);

// "a=1&b=x%20y" → {a: "1", b: "x y"}; undecodable parts are kept as written.
std::map<std::string, std::string> parse_query(const std::string& query);

}  // namespace agentron
