// Carries out the control API's calls (api/router.h) for the supervisor: the same
// code paths as the CLI — the control actions for status, approve, deny and rollback;
// the ledger for history and requests; submit_restart_request for a restart; the
// snapshot code for backups; agentron-fork, as jobs, for the agent's tools. Runs on
// the event loop and never blocks it: ledger and backup reads, and snapshots, go to
// the worker thread; agentron-fork is a child process.
#pragma once

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <functional>
#include <memory>

#include "api/jobs.h"
#include "api/router.h"
#include "common/clock.h"
#include "common/lazy_worker.h"
#include "config/config.h"
#include "control/protocol.h"
#include "launcher/posix_spawner.h"

namespace agentron {

struct ControlApiContext {
  boost::asio::io_context& io;
  Clock& clock;
  ChildReaper& reaper;
  LazyWorker& worker;
  const Config& config;
  std::filesystem::path config_path;  // for agentron-fork; empty with the embedded config
  ControlActions& actions;
  // HandoverDriver::when_taken: calls back once a request file written here is taken,
  // with its phase or why it was refused. Empty: a restart is answered as "requested".
  std::function<void(const std::string& id, std::function<void(Result<std::string>)>)> when_request_taken;
  // HandoverDriver::can_take_request: an error (handover_in_flight) while a handover is
  // in flight, checked before a request file is written. Empty: always ok.
  std::function<Status()> can_take_request;
};

using ApiRespond = std::function<void(ApiResponse)>;
// A fork tool's job started: its id and the file its output goes to (the MCP endpoint
// follows it for progress notifications).
using JobStarted = std::function<void(const std::string& job_id, const std::filesystem::path& output)>;

class ControlApi {
 public:
  explicit ControlApi(ControlApiContext context);
  ~ControlApi();
  ControlApi(const ControlApi&) = delete;
  ControlApi& operator=(const ControlApi&) = delete;

  // Routes and carries out one request; `respond` is called once, now or later. A call
  // only the operator may make (operator_only) is refused to any other role with 403.
  void handle(const ApiRequest& request, ApiRespond respond);
  // `started`, if set, hears of the job a fork tool starts, before `respond` (the MCP
  // endpoint's progress).
  void handle(const ApiCall& call, ApiRole role, ApiRespond respond, JobStarted started = {});
  // The supervisor stops: a running job is asked to end.
  void shut_down();

 private:
  void act(const StatusRequest&, ApiRespond respond);
  void act(const GetHistory& call, ApiRespond respond);
  void act(const GetRequests& call, ApiRespond respond);
  void act(const GetRequest& call, ApiRespond respond);
  void act(const PostRestartRequest& call, ApiRespond respond);
  void act(const ApproveRequest& call, ApiRespond respond);
  void act(const DenyRequest& call, ApiRespond respond);
  void act(const RollbackRequest& call, ApiRespond respond);
  void act(const GetBackups&, ApiRespond respond);
  void act(const PostBackup&, ApiRespond respond);
  void act(const GetJob& call, ApiRespond respond);
  void act(const ListTools&, ApiRespond respond);
  void act(const CallTool& call, ApiRespond respond, const JobStarted& started);
  void act(const Ping&, ApiRespond respond);

  void run_fork_tool(const ToolSpec& tool, const nlohmann::json& input, ApiRespond respond, const JobStarted& started);
  // A restart of the fork branch's head (no commit given): agentron-fork branch-head, then submit.
  void restart_at_branch_head(PostRestartRequest call, ApiRespond respond);
  // Writes the request file and answers once the supervisor has taken it (bounded).
  void submit(const PostRestartRequest& call, ApiRespond respond);
  std::vector<std::string> fork_argv(const std::vector<std::string>& args) const;
  Result<pid_t> start_fork(const std::vector<std::string>& argv, const std::filesystem::path& out,
                           const std::filesystem::path& err, std::function<void(ExitStatus)> on_exit);
  // Runs `work` on the worker thread and answers with what it returns, on the loop.
  void off_loop(std::function<ApiResponse()> work, ApiRespond respond);
  bool offered(const std::string& tool) const;

  ControlApiContext c_;
  JobRunner jobs_;     // the agent's tools: one at a time, they share the workspace
  JobRunner lookups_;  // branch-head for a restart: reads the fork only, so not held up by a build
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

// A control action's answer ({"ok":..., "data"|"error"}) as an HTTP response.
ApiResponse api_response(const nlohmann::json& control_answer);

}  // namespace agentron
