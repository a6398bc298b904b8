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

// Annotations: {read_only, destructive, idempotent, open_world}.
constexpr ToolAnnotations kReads{true, false, true, false};

std::vector<ToolSpec> make_catalog() {
  json text = {{"type", "string"}, {"minLength", 1}, {"maxLength", 2000}};
  return {
      {"ensure_agentron_fork", "Ensure Agentron's fork",
       "Checks that the configured fork of Agentron exists on the git host and is not the upstream, and says its "
       "default branch and branches. Call it first, before cloning. With create: true it asks GitHub to make the "
       "fork when there is none. It never changes the upstream and never touches the workspace.",
       object_schema({{"create", {{"type", "boolean"}, {"default", false}}}}), ToolRun::fork_command,
       ToolAnnotations{false, false, true, true}},
      {"clone_or_pull_agentron", "Clone or pull the fork",
       "Clones the fork into the agent's workspace, or, when it is there, fetches the fork and fast-forwards the "
       "current branch (or checks out the given one). Use it to start work and to pick up what was pushed. It "
       "never merges, rebases or discards local changes, and reads only the fork.",
       object_schema({{"branch", branch_schema("The branch to check out (default: the current one)")},
                      {"wait_seconds", wait_schema()}}),
       ToolRun::fork_job, ToolAnnotations{false, false, true, true}},
      {"create_branch", "Create a work branch",
       "Creates the branch <branch_prefix><name> at the workspace's HEAD and checks it out: every improvement is "
       "made on a branch of its own. It fails if the branch exists. It never pushes and never changes another "
       "branch.",
       object_schema({{"name", branch_schema("The branch name, without the prefix")}}, {"name"}), ToolRun::fork_command,
       ToolAnnotations{false, false, false, false}},
      {"commit_changes", "Commit the workspace's changes",
       "Commits the workspace's changes (all of them, or only the given paths) on the current branch, as the "
       "configured author. Change the documentation with the code: a commit of code without docs gets a warning, "
       "or is refused when the supervisor requires docs. It never pushes.",
       object_schema({{"message", text},
                      {"paths",
                       {{"type", "array"},
                        {"maxItems", 1000},
                        {"items", {{"type", "string"}, {"maxLength", 4096}, {"pattern", kPathPattern}}}}}},
                     {"message"}),
       ToolRun::fork_command, ToolAnnotations{false, false, false, false}},
      {"push_to_fork", "Push to the fork",
       "Pushes the current branch to the fork, so a restart can use it. It pushes only to the configured fork — "
       "never to the upstream, whatever the workspace's git config says (refused there) — and never force-pushes.",
       object_schema(json::object()), ToolRun::fork_command, ToolAnnotations{false, false, true, true}},
      {"run_build_agentron", "Build the workspace",
       "Runs the configured build in the workspace, as a job, and answers with its result and the last lines of "
       "its output, or with the job still running after wait_seconds (then poll job_status). Build before "
       "launching a new Agentron. It runs only the configured command and never touches the running instance.",
       object_schema({{"wait_seconds", wait_schema()}}), ToolRun::fork_job, ToolAnnotations{false, false, true, false}},
      {"run_tests_agentron", "Run the tests",
       "Runs the configured tests in the workspace, as a job, like run_build_agentron. Run them before pushing. "
       "It runs only the configured command and never touches the running instance.",
       object_schema({{"wait_seconds", wait_schema()}}), ToolRun::fork_job, ToolAnnotations{false, false, true, false}},
      {"sync_fork_from_upstream", "Merge the upstream in",
       "Fetches the upstream (read-only) and fast-forwards or merges its branch into the workspace's current "
       "branch, so the improvement is built on what Agentron is now. The workspace must be clean. It never pushes "
       "and never writes to the upstream.",
       object_schema({{"upstream_branch", branch_schema("The upstream's branch (default main)")},
                      {"wait_seconds", wait_schema()}}),
       ToolRun::fork_job, ToolAnnotations{false, false, true, true}},
      {"launch_new_agentron", "Restart into a pushed commit",
       "Asks the supervisor to restart Agentron into a commit pushed to the fork: it builds a clean release, backs "
       "the data up, starts the new build on the same data, and switches only once the new instance is verified "
       "(else the old one keeps serving and the attempt is rolled back). The run calling this lives in the "
       "instance that will be replaced and ends at the switch; use when: idle to let runs finish first, and "
       "follow the request with restart_status. It never runs a commit that is not on the fork.",
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
       ToolRun::launch, ToolAnnotations{false, true, false, false}},
      {"platform_history", "Platform improvement history",
       "Every platform improvement, newest first: branch, commit, summary, who asked, the backup, counts before "
       "and after, the outcome and why. Read it to learn what was tried before. It changes nothing.",
       object_schema({{"limit", {{"type", "integer"}, {"minimum", 1}, {"maximum", 500}, {"default", 20}}}}),
       ToolRun::platform_history, kReads},
      {"restart_status", "Restart request status",
       "One restart request (the id launch_new_agentron answered): its phases with times, backup, counts before "
       "and after, outcome and reason. Poll it after a launch. It changes nothing.",
       object_schema({{"id", {{"type", "string"}, {"minLength", 1}, {"maxLength", 200}}}}, {"id"}),
       ToolRun::restart_status, kReads},
      {"supervisor_status", "Supervisor status",
       "The supervisor's state: the serving instance, its release and commit, the last verification, the "
       "handover in flight. It changes nothing.",
       object_schema(json::object()), ToolRun::supervisor_status, kReads},
      {"job_status", "Job status",
       "A job's state (running, succeeded, failed, interrupted), exit status, last lines of output and result: "
       "for a tool that answered with its job still running. It changes nothing.",
       object_schema({{"job_id", {{"type", "string"}, {"minLength", 1}, {"maxLength", 200}}}}, {"job_id"}),
       ToolRun::job_status, kReads},
  };
}

}  // namespace

json ToolAnnotations::to_json() const {
  return {{"readOnlyHint", read_only},
          {"destructiveHint", destructive},
          {"idempotentHint", idempotent},
          {"openWorldHint", open_world}};
}

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
