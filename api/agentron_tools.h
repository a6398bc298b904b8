// The agent's tools as rows of Agentron's own tool table (upstream bc97d36: POST
// /api/tools with {id, name, protocol: "http", config: {url, method, headers},
// inputSchema}; its HTTP adapter sends the tool's input as the JSON body of `method`
// to `url` with `headers`, and treats any non-2xx as an error). Our rows have ids
// "agentron-supervisor-<tool>", so install and uninstall touch nothing else.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "api/tool_catalog.h"

namespace agentron {

inline constexpr const char* kAgentronToolIdPrefix = "agentron-supervisor-";

// `api_base`: "http://127.0.0.1:7310" (the control API's listener).
nlohmann::json agentron_tool_row(const ToolSpec& tool, const std::string& api_base, const std::string& token);

bool is_our_tool_id(const std::string& id);

}  // namespace agentron
