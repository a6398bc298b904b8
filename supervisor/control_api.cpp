#include "supervisor/control_api.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "backup/backup_key.h"
#include "backup/catalog.h"
#include "backup/snapshot.h"
#include "history/history.h"
#include "history/history_json.h"
#include "launcher/instance_spec.h"
#include "supervisor/restart_request.h"
#include "supervisor/snapshot_options.h"

namespace agentron {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

ApiResponse ok(json data, int status = 200) { return ApiResponse{status, std::move(data)}; }
ApiResponse failed(const ApiError& e) { return ApiResponse{e.status, e.body()}; }
ApiResponse failed(const Error& e) { return failed(api_error(e)); }

// "agent", or "agent (<what it said>)": a restart asked for with any token but the
// operator's is recorded as the agent's, whatever requested_by it claims.
std::string agent_requested_by(const std::string& claimed) {
  if (claimed.empty() || claimed == "agent") return "agent";
  return "agent (" + claimed + ")";
}

ApiCall as_the_agents(ApiCall call) {
  if (auto* post = std::get_if<PostRestartRequest>(&call)) post->requested_by = agent_requested_by(post->requested_by);
  if (auto* tool = std::get_if<CallTool>(&call); tool && tool->tool && tool->tool->name == "launch_new_agentron") {
    tool->input["requested_by"] = agent_requested_by(tool->input.value("requested_by", std::string()));
  }
  return call;
}

// For the log and the refusal: what an operator-only call does.
const char* call_name(const ApiCall& call) {
  if (std::holds_alternative<ApproveRequest>(call)) return "approve a restart";
  if (std::holds_alternative<DenyRequest>(call)) return "deny a restart";
  if (std::holds_alternative<RollbackRequest>(call)) return "roll back";
  if (std::holds_alternative<PostBackup>(call)) return "take a snapshot";
  return "make this call";
}

fs::path jobs_dir(const Config& config) { return state_dir(config.app) / "jobs"; }

// The improvements the ledger knows, newest first, each with its phases.
ApiResponse read_requests(const fs::path& ledger, int limit, const std::string& only_id, int offset = 0) {
  auto history = History::open_read_only(ledger);
  if (!history) return failed(history.error());
  auto requests = only_id.empty() ? history->requests(limit, offset) : history->requests(100000);
  if (!requests) return failed(requests.error());
  json all = json::array();
  for (const auto& r : *requests) {
    if (!only_id.empty() && r.id != only_id) continue;
    auto phases = history->phases(r.id);
    json row = json_of(r, phases ? *phases : std::vector<HistoryPhase>{});
    if (!only_id.empty()) return ok(row);
    all.push_back(std::move(row));
  }
  if (!only_id.empty())
    return failed(Error{control_error::no_such_request, "no restart request '" + only_id.substr(0, 64) + "'"});
  return ok({{"requests", all}});
}

// A tool that ran and failed (push refused, build failed) answers 422 with the reason
// and the job: Agentron's HTTP adapter reads only non-2xx as failure, and a 400 would
// say the input was wrong.
ApiResponse job_failed(const JobRecord& job) {
  json error = job.result.is_object() && job.result.contains("code")
                   ? json{{"code", job.result["code"]}, {"message", job.result.value("message", "")}}
                   : json{{"code", "job_failed"}, {"message", "the job " + job.exit}};
  return ApiResponse{422, {{"error", error}, {"job", job.to_json()}}};
}

}  // namespace

ApiResponse api_response(const json& answer) {
  if (answer.value("ok", false)) return ok(answer.contains("data") ? answer["data"] : json::object());
  const json& e = answer.contains("error") ? answer["error"] : json::object();
  return failed(Error{e.value("code", std::string(control_error::internal)), e.value("message", std::string())});
}

ControlApi::ControlApi(ControlApiContext context)
    : c_(std::move(context)),
      jobs_(c_.clock, jobs_dir(c_.config),
            [this](const auto& argv, const auto& out, const auto& err, auto on_exit) {
              return start_fork(argv, out, err, std::move(on_exit));
            }),
      lookups_(c_.clock, jobs_dir(c_.config), [this](const auto& argv, const auto& out, const auto& err, auto on_exit) {
        return start_fork(argv, out, err, std::move(on_exit));
      }) {
  jobs_.recover();  // both runners' records: they share the folder
}

Result<pid_t> ControlApi::start_fork(const std::vector<std::string>& argv, const fs::path& out, const fs::path& err,
                                     std::function<void(ExitStatus)> on_exit) {
  return spawn_command(c_.reaper, argv, c_.config.fork.workspace.parent_path(), out, err, std::move(on_exit));
}

std::vector<std::string> ControlApi::fork_argv(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{(executable_dir() / "agentron-fork").string(), "--config", c_.config_path.string(),
                                "--json"};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

ControlApi::~ControlApi() { alive_.reset(); }

void ControlApi::shut_down() {
  jobs_.stop_running();
  lookups_.stop_running();
}

void ControlApi::handle(const ApiRequest& request, ApiRespond respond) {
  auto routed = route(request);
  if (auto* e = std::get_if<ApiError>(&routed)) return respond(failed(*e));
  handle(std::get<ApiCall>(routed), request.role, std::move(respond));
}

void ControlApi::handle(const ApiCall& given, ApiRole role, ApiRespond respond, JobStarted started) {
  ApiCall call = role == ApiRole::operator_ ? given : as_the_agents(given);
  if (operator_only(call) && role != ApiRole::operator_) {
    // Loud: an agent trying to approve its own restart is worth an operator's look.
    spdlog::warn("control API: refused a {} call carrying the {} token: only the operator's may make it",
                 call_name(call), to_string(role));
    return respond(failed(ApiError{403, "operator_only",
                                   std::string("only the operator may ") + call_name(call) +
                                       ": send the operator's token (the file [control] operator_token_file names, " +
                                       c_.config.control.operator_token_file.string() +
                                       "), or use the CLI; the agent's token may ask for a restart, never approve "
                                       "one"}));
  }
  try {
    std::visit(
        [&](const auto& c) {
          if constexpr (std::is_same_v<std::decay_t<decltype(c)>, CallTool>) {
            act(c, respond, started);
          } else {
            act(c, respond);
          }
        },
        call);
  } catch (const std::exception& e) {
    spdlog::error("control API: a call threw (a bug): {}", e.what());
    respond(failed(Error{control_error::internal, "internal error; see the supervisor's log"}));
  }
}

void ControlApi::off_loop(std::function<ApiResponse()> work, ApiRespond respond) {
  std::weak_ptr<int> alive = alive_;
  c_.worker.post([this, alive, work = std::move(work), respond = std::move(respond)]() mutable {
    ApiResponse response = work();
    boost::asio::post(c_.io, [alive, response = std::move(response), respond = std::move(respond)] {
      if (alive.lock()) respond(response);
    });
  });
}

void ControlApi::act(const StatusRequest& r, ApiRespond respond) {
  c_.actions.act(r, [respond](json answer) { respond(api_response(answer)); });
}

void ControlApi::act(const ApproveRequest& r, ApiRespond respond) {
  c_.actions.act(r, [respond](json answer) { respond(api_response(answer)); });
}

void ControlApi::act(const DenyRequest& r, ApiRespond respond) {
  c_.actions.act(r, [respond](json answer) { respond(api_response(answer)); });
}

void ControlApi::act(const RollbackRequest& r, ApiRespond respond) {
  c_.actions.act(r, [respond](json answer) { respond(api_response(answer)); });
}

void ControlApi::act(const GetHistory& call, ApiRespond respond) {
  fs::path ledger = history_path(state_dir(c_.config.app));
  off_loop(
      [ledger, call] {
        auto history = History::open_read_only(ledger);
        if (!history) return failed(history.error());
        // A kind filter reads further back, so `limit` rows of that kind come.
        auto events = history->events(call.kind.empty() ? call.limit : 100000);
        if (!events) return failed(events.error());
        json rows = json::array();
        for (const auto& e : *events) {
          if (!call.kind.empty() && e.kind != call.kind) continue;
          rows.push_back(json_of(e));
          if (static_cast<int>(rows.size()) == call.limit) break;
        }
        return ok({{"events", rows}});
      },
      std::move(respond));
}

void ControlApi::act(const GetRequests& call, ApiRespond respond) {
  fs::path ledger = history_path(state_dir(c_.config.app));
  off_loop([ledger, call] { return read_requests(ledger, call.limit, "", call.offset); }, std::move(respond));
}

void ControlApi::act(const GetRequest& call, ApiRespond respond) {
  fs::path ledger = history_path(state_dir(c_.config.app));
  off_loop([ledger, call] { return read_requests(ledger, 1, call.id); }, std::move(respond));
}

void ControlApi::act(const PostRestartRequest& call, ApiRespond respond) {
  if (!c_.config.fork.configured) {
    return respond(failed(Error{"fork_not_configured", "restart requests need a [fork] section in the config"}));
  }
  if (call.commit.empty()) return restart_at_branch_head(call, std::move(respond));
  submit(call, std::move(respond));
}

void ControlApi::restart_at_branch_head(PostRestartRequest call, ApiRespond respond) {
  if (c_.config_path.empty()) {
    return respond(failed(Error{control_error::bad_request, "field \"commit\" is required with the embedded config"}));
  }
  auto id = lookups_.start("launch_new_agentron", fork_argv({"branch-head", "--", call.branch}));
  if (!id) return respond(failed(id.error()));
  lookups_.await(*id, std::chrono::seconds(kMaxWaitSeconds), [this, call, respond](Result<JobRecord> job) mutable {
    if (!job) return respond(failed(job.error()));
    if (job->state == JobState::running) {
      return respond(failed(ApiError{504, "timeout",
                                     "the fork did not say what " + call.branch + " points at within " +
                                         std::to_string(kMaxWaitSeconds) + " s; try again"}));
    }
    if (job->state != JobState::succeeded || !job->result.contains("commit")) return respond(job_failed(*job));
    call.commit = job->result["commit"].get<std::string>();
    submit(call, std::move(respond));
  });
}

void ControlApi::submit(const PostRestartRequest& call, ApiRespond respond) {
  // Refused before anything is written: a flood of requests during a handover leaves
  // no files behind (the red team's finding 4).
  if (c_.can_take_request) {
    if (auto s = c_.can_take_request(); !s) return respond(failed(s.error()));
  }
  RestartRequest fields{"", call.branch, call.commit, call.summary, call.requested_by, call.run_id, call.when};
  auto request = submit_restart_request(state_dir(c_.config.app) / "requests", std::move(fields));
  if (!request) return respond(failed(request.error()));
  spdlog::info("control API: restart request {} for {} @ {}", request->id, request->branch, request->commit);
  json answer = {{"id", request->id},
                 {"branch", request->branch},
                 {"commit", request->commit},
                 {"when", request->when.empty() ? "now" : request->when},
                 {"state", "requested"},
                 {"note",
                  "the run that asked lives in the instance this request will replace: it ends with the "
                  "switch; follow it with restart_status"}};
  if (!c_.when_request_taken) return respond(ok(answer, 202));
  // The supervisor takes the file within milliseconds (inotify): answer with what
  // became of it — its phase, or 409 when another handover is in flight — so the
  // caller is never told "requested" about a request that is already refused.
  struct Pending {
    ApiRespond respond;
    Timer timer;
  };
  auto pending = std::make_shared<Pending>();
  pending->respond = std::move(respond);
  pending->timer = c_.clock.start_timer(std::chrono::seconds(5), [pending, answer] {
    if (auto r = std::exchange(pending->respond, nullptr)) r(ok(answer, 202));
  });
  std::weak_ptr<int> alive = alive_;
  std::string id = request->id;
  c_.when_request_taken(id, [alive, pending, answer, id](Result<std::string> phase) mutable {
    auto r = std::exchange(pending->respond, nullptr);
    if (!alive.lock() || !r) return;
    pending->timer.reset();
    if (!phase) return r(failed(Error{phase.error().code, "request " + id + " refused: " + phase.error().message}));
    answer["state"] = *phase;
    if (*phase == "awaiting_approval")
      answer["note"] = "it waits for the user's approval (agentron-supervisor approve " + id +
                       ", or POST /v1/requests/" + id + "/approve with the operator's token); " +
                       answer["note"].get<std::string>();
    r(ok(answer, 202));
  });
}

void ControlApi::act(const GetBackups&, ApiRespond respond) {
  BackupPaths paths{c_.config.backup.dir, backup_key_file(state_dir(c_.config.app))};
  off_loop(
      [paths] {
        json all = json::array();
        for (const auto& s : list_snapshots(paths)) all.push_back(snapshot_json(s));
        return ok({{"backups", all}});
      },
      std::move(respond));
}

void ControlApi::act(const PostBackup&, ApiRespond respond) {
  off_loop(
      [config = c_.config] {
        auto options = snapshot_options(config, "manual");
        if (!options) return failed(options.error());
        // create_snapshot takes the backup folder's lock itself: a flock taken here too
        // (another open file) would make it find the folder busy — by us — every time.
        auto result = create_snapshot(*options);
        if (!result) return failed(result.error());
        return ok(created_snapshot_json(*result), 201);
      },
      std::move(respond));
}

void ControlApi::act(const Ping&, ApiRespond respond) { respond(ok({{"ok", true}})); }

void ControlApi::act(const GetJob& call, ApiRespond respond) {
  auto job = jobs_.find(call.id);
  if (!job) return respond(failed(job.error()));
  respond(ok(job->to_json()));
}

bool ControlApi::offered(const std::string& tool) const {
  const auto& only = c_.config.control.tools;
  return !only || std::find(only->begin(), only->end(), tool) != only->end();
}

void ControlApi::act(const ListTools&, ApiRespond respond) {
  json tools = json::array();
  for (const auto& tool : tool_catalog()) {
    if (!offered(tool.name)) continue;
    tools.push_back({{"name", tool.name},
                     {"title", tool.title},
                     {"description", tool.description},
                     {"inputSchema", tool.input_schema},
                     {"annotations", tool.annotations.to_json()}});
  }
  respond(ok({{"tools", tools}}));
}

void ControlApi::act(const CallTool& call, ApiRespond respond, const JobStarted& started) {
  const ToolSpec& tool = *call.tool;
  if (!offered(tool.name)) {
    return respond(failed(ApiError{404, "unknown_tool", "tool " + tool.name + " is not offered ([control] tools)"}));
  }
  const json& in = call.input;
  switch (tool.run) {
    case ToolRun::fork_command:
    case ToolRun::fork_job: return run_fork_tool(tool, in, std::move(respond), started);
    case ToolRun::launch:
      return act(PostRestartRequest{in.value("branch", ""), in.value("commit", ""), in.value("summary", ""),
                                    in.value("requested_by", "agent"), in.value("run_id", ""), in.value("when", "now")},
                 std::move(respond));
    case ToolRun::platform_history: {
      fs::path ledger = history_path(state_dir(c_.config.app));
      int limit = in.value("limit", 20);
      return off_loop([ledger, limit] { return read_requests(ledger, limit, ""); }, std::move(respond));
    }
    case ToolRun::restart_status: return act(GetRequest{in.value("id", "")}, std::move(respond));
    case ToolRun::supervisor_status: return act(StatusRequest{}, std::move(respond));
    case ToolRun::job_status: return act(GetJob{in.value("job_id", "")}, std::move(respond));
  }
}

void ControlApi::run_fork_tool(const ToolSpec& tool, const json& input, ApiRespond respond, const JobStarted& started) {
  if (!c_.config.fork.configured || c_.config_path.empty()) {
    return respond(failed(Error{"fork_not_configured", tool.name + " needs a [fork] section in the config file"}));
  }
  auto id = jobs_.start(tool.name, fork_argv(fork_arguments(tool, input)));
  if (!id) return respond(failed(id.error()));
  spdlog::info("control API: {} started as job {}", tool.name, *id);
  if (started) started(*id, jobs_.output_log(*id));
  jobs_.await(*id, std::chrono::seconds(wait_seconds(tool, input)), [respond](Result<JobRecord> job) {
    if (!job) return respond(failed(job.error()));
    if (job->state == JobState::failed || job->state == JobState::interrupted) return respond(job_failed(*job));
    respond(ok(job->to_json(), job->state == JobState::running ? 202 : 200));
  });
}

}  // namespace agentron
