#include "api/tool_catalog.h"

namespace agentron {
namespace {

using nlohmann::json;

// A branch name the agent may give: no leading '-' (never an option), no "..", no
// "//", no ending in '/' or ".lock" — git's rules that matter here, checked again by
// agentron-fork and by the request's parser.
const char* const kBranchPattern = "^(?!-)(?!.*\\.\\.)(?!.*//)(?!.*\\.lock$)(?!.*/$)[A-Za-z0-9._/-]+$";
// A path in the workspace: relative, no '..' part, never an option.
const char* const kPathPattern = "^(?![-/])(?!(.*/)?\\.\\.(/|$))[^\\x00]+$";

json object_schema(json properties, json required = json::array()) {
  json schema = {{"$schema", "https://json-schema.org/draft/2020-12/schema"},
                 {"type", "object"},
                 {"properties", std::move(properties)},
                 {"additionalProperties", false}};
  if (!required.empty()) schema["required"] = std::move(required);
  return schema;
}

json branch_schema(const std::string& description) {
  return {{"type", "string"},
          {"minLength", 1},
          {"maxLength", 200},
          {"pattern", kBranchPattern},
          {"description", description}};
}

json wait_schema() {
  return {{"type", "integer"},
          {"minimum", 0},
          {"maximum", kMaxWaitSeconds},
          {"default", kDefaultWaitSeconds},
          {"description", "Seconds to wait for the result before answering with the running job (default " +
                              std::to_string(kDefaultWaitSeconds) + ", at most " + std::to_string(kMaxWaitSeconds) +
                              "); poll job_status with its job_id."}};
}

std::vector<ToolSpec> make_catalog() {
  json text = {{"type", "string"}, {"minLength", 1}, {"maxLength", 2000}};
  return {
      {"ensure_agentron_fork",
       "Checks that Agentron's fork exists and is not the upstream; with create: true, asks GitHub to make it.",
       object_schema({{"create", {{"type", "boolean"}, {"default", false}}}}), ToolRun::fork_command},
      {"clone_or_pull_agentron",
       "Clones the fork into the agent's workspace, or fetches it and fast-forwards the current branch.",
       object_schema({{"branch", branch_schema("The branch to check out (default: the current one)")},
                      {"wait_seconds", wait_schema()}}),
       ToolRun::fork_job},
      {"create_branch", "Creates a branch <branch_prefix><name> at HEAD in the workspace and checks it out.",
       object_schema({{"name", branch_schema("The branch name, without the prefix")}}, {"name"}),
       ToolRun::fork_command},
      {"commit_changes",
       "Commits the workspace's changes (all of them, or only the given paths) with the configured author.",
       object_schema({{"message", text},
                      {"paths",
                       {{"type", "array"},
                        {"maxItems", 1000},
                        {"items", {{"type", "string"}, {"maxLength", 4096}, {"pattern", kPathPattern}}}}}},
                     {"message"}),
       ToolRun::fork_command},
      {"push_to_fork", "Pushes the current branch to the fork — never to the upstream (refused there).",
       object_schema(json::object()), ToolRun::fork_command},
      {"run_build_agentron", "Runs the configured build in the workspace, as a job.",
       object_schema({{"wait_seconds", wait_schema()}}), ToolRun::fork_job},
      {"run_tests_agentron", "Runs the configured tests in the workspace, as a job.",
       object_schema({{"wait_seconds", wait_schema()}}), ToolRun::fork_job},
      {"sync_fork_from_upstream",
       "Fetches the upstream and fast-forwards or merges it into the current branch (never pushes).",
       object_schema({{"upstream_branch", branch_schema("The upstream's branch (default main)")},
                      {"wait_seconds", wait_schema()}}),
       ToolRun::fork_job},
      {"launch_new_agentron",
       "Asks the supervisor to restart Agentron into a pushed commit of the fork, verified, with the same data. "
       "The run calling this lives in the instance that will be replaced.",
       object_schema({{"branch", branch_schema("The fork's branch the commit is on")},
                      {"commit",
                       {{"type", "string"},
                        {"pattern", "^[0-9a-fA-F]{7,40}$"},
                        {"description",
                         "The pushed commit to run (7 to 40 hex digits; default: the head of "
                         "branch in the fork)"}}},
                      {"summary", text},
                      {"run_id", {{"type", "string"}, {"maxLength", 200}}},
                      {"requested_by", {{"type", "string"}, {"maxLength", 200}}},
                      {"when",
                       {{"type", "string"},
                        {"enum", {"now", "idle"}},
                        {"default", "now"},
                        {"description", "idle: wait until no run is executing ([handover] idle_query)"}}}},
                     {"branch", "summary"}),
       ToolRun::launch},
      {"platform_history",
       "Every platform improvement, newest first: branch, commit, summary, who asked, the backup, counts before "
       "and after, the outcome.",
       object_schema({{"limit", {{"type", "integer"}, {"minimum", 1}, {"maximum", 500}, {"default", 20}}}}),
       ToolRun::platform_history},
      {"restart_status", "One restart request: its phases with times, backup, counts before and after, outcome.",
       object_schema({{"id", {{"type", "string"}, {"minLength", 1}, {"maxLength", 200}}}}, {"id"}),
       ToolRun::restart_status},
      {"supervisor_status", "The supervisor's state: the serving instance, release and commit, the last verification.",
       object_schema(json::object()), ToolRun::supervisor_status},
      {"job_status", "A job's state, exit status, last lines of output and result.",
       object_schema({{"job_id", {{"type", "string"}, {"minLength", 1}, {"maxLength", 200}}}}, {"job_id"}),
       ToolRun::job_status},
  };
}

}  // namespace

const std::vector<ToolSpec>& tool_catalog() {
  static const std::vector<ToolSpec> catalog = make_catalog();
  return catalog;
}

const ToolSpec* find_tool(const std::string& name) {
  for (const auto& tool : tool_catalog()) {
    if (tool.name == name) return &tool;
  }
  return nullptr;
}

std::string tool_names() {
  std::string names;
  for (const auto& tool : tool_catalog()) names += (names.empty() ? "" : ", ") + tool.name;
  return names;
}

std::vector<std::string> fork_arguments(const ToolSpec& tool, const json& input) {
  auto text = [&](const char* key) { return input.value(key, std::string()); };
  const std::string& name = tool.name;
  if (name == "ensure_agentron_fork") {
    std::vector<std::string> args{"ensure-fork"};
    if (input.value("create", false)) args.push_back("--create");
    return args;
  }
  if (name == "clone_or_pull_agentron") {
    std::vector<std::string> args{"clone-or-pull"};
    if (!text("branch").empty()) args.push_back("--branch=" + text("branch"));
    return args;
  }
  // Values as --name=value and "--" before positionals: nothing the agent gives is
  // ever read as an option, whatever it starts with.
  if (name == "create_branch") return {"create-branch", "--", text("name")};
  if (name == "commit_changes") {
    std::vector<std::string> args{"commit", "--message=" + text("message"), "--"};
    for (const auto& path : input.value("paths", json::array())) args.push_back(path.get<std::string>());
    return args;
  }
  if (name == "push_to_fork") return {"push"};
  if (name == "run_build_agentron") return {"build"};
  if (name == "run_tests_agentron") return {"test"};
  if (name == "sync_fork_from_upstream") {
    std::vector<std::string> args{"sync-upstream"};
    if (!text("upstream_branch").empty()) args.push_back("--upstream-branch=" + text("upstream_branch"));
    return args;
  }
  return {};
}

int wait_seconds(const ToolSpec& tool, const json& input) {
  if (tool.run != ToolRun::fork_job) return kMaxWaitSeconds;
  return input.value("wait_seconds", kDefaultWaitSeconds);
}

}  // namespace agentron
