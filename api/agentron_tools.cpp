#include "api/agentron_tools.h"

#include <map>
#include <set>

namespace agentron {

using nlohmann::json;

json agentron_tool_row(const ToolSpec& tool, const std::string& api_base, const std::string& token,
                       ToolRowProtocol protocol) {
  json schema = tool.input_schema;
  schema.erase("$schema");  // a model's function parameters: the schema's body only
  json config = protocol == ToolRowProtocol::mcp
                    ? json{{"endpoint", api_base + "/mcp/" + token}, {"toolName", tool.name}}
                    : json{{"url", api_base + "/v1/tools/" + tool.name},
                           {"method", "POST"},
                           {"headers", {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}}}};
  return {{"id", kAgentronToolIdPrefix + tool.name},
          {"name", tool.name},
          {"description", tool.description},
          {"protocol", protocol == ToolRowProtocol::mcp ? "mcp" : "http"},
          {"config", config},
          {"inputSchema", schema}};
}

bool is_our_tool_id(const std::string& id) {
  const std::string prefix = kAgentronToolIdPrefix;
  // The prefix alone would claim a user's own "agentron-supervisor-notes".
  return id.rfind(prefix, 0) == 0 && find_tool(id.substr(prefix.size())) != nullptr;
}

std::string ToolRowChange::describe() const {
  return method + " " + path + (body.is_object() ? " (" + body.value("name", std::string()) + ")" : "");
}

std::vector<ToolRowChange> plan_tool_rows(const std::vector<json>& wanted, const json& listed) {
  std::map<std::string, json> ours;
  for (const auto& row : listed) {
    if (row.is_object() && row.contains("id") && row["id"].is_string() && is_our_tool_id(row["id"]))
      ours[row["id"].get<std::string>()] = row;
  }
  std::vector<ToolRowChange> plan;
  std::set<std::string> kept;
  for (const auto& row : wanted) {
    std::string id = row["id"];
    kept.insert(id);
    auto it = ours.find(id);
    if (it == ours.end()) {
      plan.push_back({"POST", "/api/tools", row});
    } else if (it->second != row) {
      plan.push_back({"PUT", "/api/tools/" + id, row});
    }
  }
  for (const auto& [id, row] : ours) {
    if (!kept.count(id)) plan.push_back({"DELETE", "/api/tools/" + id, nullptr});
  }
  return plan;
}

}  // namespace agentron
