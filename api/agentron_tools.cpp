#include "api/agentron_tools.h"

namespace agentron {

nlohmann::json agentron_tool_row(const ToolSpec& tool, const std::string& api_base, const std::string& token) {
  nlohmann::json schema = tool.input_schema;
  schema.erase("$schema");  // a model's function parameters: the schema's body only
  return {{"id", kAgentronToolIdPrefix + tool.name},
          {"name", tool.name},
          {"description", tool.description},
          {"protocol", "http"},
          {"config",
           {{"url", api_base + "/v1/tools/" + tool.name},
            {"method", "POST"},
            {"headers", {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}}}}},
          {"inputSchema", schema}};
}

bool is_our_tool_id(const std::string& id) { return id.rfind(kAgentronToolIdPrefix, 0) == 0; }

}  // namespace agentron
