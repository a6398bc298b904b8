#include "api/agentron_tools.h"

#include <catch2/catch.hpp>

using namespace agentron;
using nlohmann::json;

namespace {

json row(const std::string& tool, const std::string& token = "t") {
  return agentron_tool_row(*find_tool(tool), "http://127.0.0.1:7310", token);
}

std::vector<std::string> described(const std::vector<ToolRowChange>& plan) {
  std::vector<std::string> lines;
  for (const auto& change : plan) lines.push_back(change.describe());
  return lines;
}

}  // namespace

TEST_CASE("a tool row is what Agentron's HTTP adapter needs, with the schema's body", "[agentron_tools]") {
  json r = row("create_branch", "secret");
  CHECK(r["id"] == "agentron-supervisor-create_branch");
  CHECK(r["protocol"] == "http");
  CHECK(r["config"]["url"] == "http://127.0.0.1:7310/v1/tools/create_branch");
  CHECK(r["config"]["method"] == "POST");
  CHECK(r["config"]["headers"]["Authorization"] == "Bearer secret");
  CHECK(r["config"]["headers"]["Content-Type"] == "application/json");
  CHECK(!r["inputSchema"].contains("$schema"));
  CHECK(r["inputSchema"]["required"] == json::array({"name"}));
}

TEST_CASE("an mcp row names the capability endpoint and the tool, as Agentron's MCP adapter needs",
          "[agentron_tools]") {
  json r = agentron_tool_row(*find_tool("run_build_agentron"), "http://127.0.0.1:7310", "secret", ToolRowProtocol::mcp);
  CHECK(r["id"] == "agentron-supervisor-run_build_agentron");
  CHECK(r["protocol"] == "mcp");
  CHECK(r["config"] == json{{"endpoint", "http://127.0.0.1:7310/mcp/secret"}, {"toolName", "run_build_agentron"}});
  CHECK(r["inputSchema"] == row("run_build_agentron")["inputSchema"]);
  // Switching an installed row from http to mcp is a PUT in place.
  auto plan = plan_tool_rows({r}, json::array({row("run_build_agentron")}));
  REQUIRE(plan.size() == 1);
  CHECK(plan[0].method == "PUT");
}

TEST_CASE("only the catalog's ids are ours, not everything with our prefix", "[agentron_tools]") {
  CHECK(is_our_tool_id("agentron-supervisor-push_to_fork"));
  CHECK(is_our_tool_id("agentron-supervisor-job_status"));
  CHECK_FALSE(is_our_tool_id("agentron-supervisor-notes"));
  CHECK_FALSE(is_our_tool_id("agentron-supervisor-"));
  CHECK_FALSE(is_our_tool_id("my-agentron-supervisor-push_to_fork"));
  CHECK_FALSE(is_our_tool_id("push_to_fork"));
}

TEST_CASE("the plan adds what is missing, puts back what changed, removes ours no longer offered", "[agentron_tools]") {
  json changed = row("job_status");
  changed["description"] = "edited by hand";
  json listed = json::array({
      {{"id", "std-fetch-url"}, {"name", "fetch"}},
      {{"id", "agentron-supervisor-notes"}, {"name", "a user's own"}},
      row("supervisor_status"),
      changed,
      row("push_to_fork"),  // ours, no longer offered
      "not an object",
      {{"name", "no id"}},
  });
  auto plan = plan_tool_rows({row("supervisor_status"), row("job_status"), row("create_branch")}, listed);
  CHECK(described(plan) == std::vector<std::string>{
                               "PUT /api/tools/agentron-supervisor-job_status (job_status)",
                               "POST /api/tools (create_branch)",
                               "DELETE /api/tools/agentron-supervisor-push_to_fork",
                           });
  CHECK(plan[0].body == row("job_status"));
  CHECK(plan[2].body.is_null());
}

TEST_CASE("installed as wanted, the plan is empty; uninstall removes only ours", "[agentron_tools]") {
  json listed = json::array({row("supervisor_status"), {{"id", "mine"}}, row("job_status")});
  CHECK(plan_tool_rows({row("supervisor_status"), row("job_status")}, listed).empty());
  CHECK(described(plan_tool_rows({}, listed)) ==
        std::vector<std::string>{"DELETE /api/tools/agentron-supervisor-job_status",
                                 "DELETE /api/tools/agentron-supervisor-supervisor_status"});
  // A new token makes every row differ: all are put back.
  CHECK(plan_tool_rows({row("supervisor_status", "new"), row("job_status", "new")}, listed).size() == 2);
}
