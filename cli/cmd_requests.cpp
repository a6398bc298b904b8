// request-restart, approve, deny: asking the supervisor to restart from the fork.
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>

#include "cli/commands.h"
#include "cli/config_source.h"
#include "control/control_client.h"
#include "launcher/instance_spec.h"
#include "supervisor/restart_request.h"

namespace agentron {
namespace fs = std::filesystem;

namespace {

// The requests folder: the supervisor's, or — inside the app, where the supervisor
// sets AGENTRON_REQUESTS_DIR and no flag says otherwise — that.
std::optional<fs::path> requests_dir(const StateFlags& where) {
  const char* from_env = std::getenv("AGENTRON_REQUESTS_DIR");
  if (from_env && *from_env && where.config.empty() && where.data_dir.empty() && where.state_dir.empty())
    return fs::path(from_env);
  auto state = state_dir_from(where.config, where.data_dir, where.state_dir);
  if (!state) return std::nullopt;
  return *state / "requests";
}

}  // namespace

int cmd_request_restart(const RequestArgs& args) {
  auto dir = requests_dir(args.where);
  if (!dir) return kExitConfig;
  std::error_code ec;
  if (!fs::exists(*dir, ec)) {
    fs::create_directories(*dir, ec);
    ::chmod(dir->c_str(), 0700);
  }
  auto r = submit_restart_request(
      *dir, {"", args.branch, args.commit, args.summary, args.requested_by, args.run_id, args.when});
  if (!r) {
    bool refused = r.error().code == "bad_request";
    std::fprintf(stderr, "%s%s%s\n", refused ? "request refused: " : "", r.error().message.c_str(),
                 refused ? "; nothing was written" : "");
    return kExitFailure;
  }
  std::printf("%s\n", r->id.c_str());
  std::fprintf(stderr, "written to %s; follow it with `agentron-supervisor status` or `history`\n",
               (*dir / (r->id + ".json")).c_str());
  return kExitOk;
}

int cmd_approval(const std::string& verb, const RequestArgs& args) {
  auto state = state_dir_from(args.where.config, args.where.data_dir, args.where.state_dir);
  if (!state) return kExitConfig;
  ControlRequest request = RollbackRequest{args.reason, ""};
  if (verb == "approve") request = ApproveRequest{args.id};
  if (verb == "deny") request = DenyRequest{args.id, args.reason};
  auto response = control_request(*state / "control.sock", request);
  if (!response) {
    std::fprintf(stderr, "%s\n", response.error().message.c_str());
    return response.error().code == control_error::not_running ? kExitNotRunning : kExitFailure;
  }
  if (!response->value("ok", false)) {
    std::fprintf(stderr, "%s\n", (*response)["error"].value("message", "request failed").c_str());
    return kExitFailure;
  }
  if (verb == "rollback") {
    std::printf("%s\n", (*response)["data"].value("id", "").c_str());
    std::fprintf(stderr, "rolling back by the verified path; follow it with `agentron-supervisor status`\n");
    return kExitOk;
  }
  std::printf("%s %s\n", args.id.c_str(), verb == "approve" ? "approved" : "denied");
  return kExitOk;
}

}  // namespace agentron
