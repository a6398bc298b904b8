// The agent's tools as rows of Agentron's own tool table (upstream bc97d36: POST
// /api/tools with {id, name, protocol, config, inputSchema}). Protocol "http" (the
// default): config {url, method, headers} — its HTTP adapter sends the tool's input as
// the JSON body of `method` to `url` with `headers`, and treats any non-2xx as an
// error. Protocol "mcp": config {endpoint, toolName} — its MCP adapter
// (packages/runtime/src/tools/adapters/mcp-tool.ts) connects a Streamable HTTP client
// to `endpoint` (a URL alone: no headers, so our capability path /mcp/<token>), calls
// `toolName` with the input and hands the whole CallToolResult on. Our rows have ids
// "agentron-supervisor-<tool>" for a tool of the catalog, so install and uninstall
// touch nothing else — not even a row of another's whose id merely starts the same.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/tool_catalog.h"

namespace agentron {

inline constexpr const char* kAgentronToolIdPrefix = "agentron-supervisor-";

enum class ToolRowProtocol { http, mcp };

// `api_base`: "http://127.0.0.1:7310" (the control API's listener).
nlohmann::json agentron_tool_row(const ToolSpec& tool, const std::string& api_base, const std::string& token,
                                 ToolRowProtocol protocol = ToolRowProtocol::http);

// True iff `id` is "agentron-supervisor-<name>" for a tool of the catalog.
bool is_our_tool_id(const std::string& id);

// One call to Agentron's /api/tools.
struct ToolRowChange {
  std::string method;            // "POST", "PUT" or "DELETE"
  std::string path;              // "/api/tools" or "/api/tools/<id>"
  nlohmann::json body;           // the row (null for DELETE)
  std::string describe() const;  // "PUT /api/tools/<id> (<name>)"
};

// What makes Agentron's tool list (`listed`, GET /api/tools) hold exactly `wanted` of
// ours: POST a row that is missing, PUT one that differs, DELETE one of ours not wanted
// (a tool no longer offered). Rows that are not ours are never in the plan.
std::vector<ToolRowChange> plan_tool_rows(const std::vector<nlohmann::json>& wanted, const nlohmann::json& listed);

}  // namespace agentron
