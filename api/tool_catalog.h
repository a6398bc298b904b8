// The agent's tools (docs/agent-tools.md): each one's name, what it does, its input's
// JSON Schema (2020-12), and how it runs. The HTTP API (`POST /v1/tools/<name>`), the
// MCP endpoint and `agentron-tools install` all read this one list.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace agentron {

enum class ToolRun {
  fork_command,       // agentron-fork, answered when it ends (a job, waited for in full)
  fork_job,           // agentron-fork, long: a job, waited for up to wait_seconds
  launch,             // a restart request (launch_new_agentron)
  platform_history,   // the ledger's improvement requests
  restart_status,     // one request
  supervisor_status,  // what `status` says
  job_status,         // one job
};

// MCP's tool annotations (hints to a client, not guarantees): whether a call changes
// anything, whether what it changes can be lost, whether repeating it with the same
// input does no more, and whether it reaches beyond this machine (GitHub, the upstream).
struct ToolAnnotations {
  bool read_only = false;
  bool destructive = false;
  bool idempotent = false;
  bool open_world = false;
  nlohmann::json to_json() const;  // {"readOnlyHint": …, "destructiveHint": …, …}
};

struct ToolSpec {
  std::string name;
  std::string title;        // for people: "Build the workspace"
  std::string description;  // for the agent: what it does, when to use it, what it never does
  nlohmann::json input_schema;
  ToolRun run = ToolRun::fork_command;
  ToolAnnotations annotations;
};

inline constexpr int kDefaultWaitSeconds = 25;
inline constexpr int kMaxWaitSeconds = 240;  // under Node fetch's 300 s header timeout

const std::vector<ToolSpec>& tool_catalog();
const ToolSpec* find_tool(const std::string& name);
// "a, b, c": every tool's name, for messages.
std::string tool_names();

// The agentron-fork arguments (after `--json`) for a fork tool's validated input.
std::vector<std::string> fork_arguments(const ToolSpec& tool, const nlohmann::json& input);

// How long a call waits for its job: the input's wait_seconds for a fork_job (default
// kDefaultWaitSeconds), kMaxWaitSeconds for a fork_command.
int wait_seconds(const ToolSpec& tool, const nlohmann::json& input);

}  // namespace agentron
