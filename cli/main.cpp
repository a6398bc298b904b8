// agentron-supervisor: argument parsing only; every verb lives in cli/cmd_*.cpp.
#include <fcntl.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>

#include "cli/commands.h"

namespace {

// A daemon started with a closed stdin/stdout/stderr would hand those numbers to the
// next files it opens, and a child's dup2 onto 0-2 would then clobber them.
void ensure_standard_fds() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) == -1) ::open("/dev/null", O_RDWR);
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace agentron;
  ensure_standard_fds();
  // Logs go to stderr (journald under systemd); stdout is for command output.
  spdlog::set_default_logger(spdlog::stderr_color_st("agentron-supervisor"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");

  CLI::App app{"agentron-supervisor: runs Agentron on a pinned data dir, restarts it on crash, stops it cleanly"};
  app.set_version_flag("--version", AGENTRON_VERSION);
  app.require_subcommand(1);
  std::string config;
  StateFlags where;
  bool json = false;
  // --data-dir and --state-dir: to reach a supervisor without reading its config.
  auto add_where = [](CLI::App* verb, StateFlags& flags) {
    verb->add_option("--config,-c", flags.config, "config file naming the data dir and state dir");
    verb->add_option("--data-dir", flags.data_dir, "the supervised data dir (its state in <data-dir>/.supervisor)");
    verb->add_option("--state-dir", flags.state_dir, "the supervisor's [app] state_dir (when set apart)");
  };

  auto* run = app.add_subcommand("run", "run the supervisor in the foreground");
  run->add_option("--config,-c", config,
                  "config file (default: $AGENTRON_SUPERVISOR_CONFIG, ./agentron-supervisor.toml)");

  auto* status = app.add_subcommand("status", "show the app's state, pid, uptime, restarts and last exit");
  add_where(status, where);
  status->add_flag("--json", json, "print JSON for scripts");

  auto* verify = app.add_subcommand("verify", "verify the running instance now: counts and integrity, recorded");
  add_where(verify, where);
  verify->add_flag("--json", json, "print JSON for scripts");

  RequestArgs req;
  auto* request_restart =
      app.add_subcommand("request-restart", "ask for a verified restart into a commit of the fork; prints its id");
  auto* approve = app.add_subcommand("approve", "approve a request awaiting approval ([handover] require_approval)");
  auto* deny = app.add_subcommand("deny", "deny a request awaiting approval");
  auto* rollback = app.add_subcommand("rollback", "return to the previous release by the same verified path");
  rollback->add_option("--reason", req.reason, "why (recorded)");
  for (auto* verb : {request_restart, approve, deny, rollback}) add_where(verb, req.where);
  request_restart->add_option("--branch", req.branch, "the fork's branch the commit is on")->required();
  request_restart->add_option("--commit", req.commit, "full or unique-prefix commit id, pushed to the fork")
      ->required();
  request_restart->add_option("--summary", req.summary, "what changed and why (shown in history)")->required();
  request_restart->add_option("--requested-by", req.requested_by, "who asks (default: nobody named)");
  request_restart->add_option("--run-id", req.run_id, "the agent run that made the change");
  request_restart->add_option("--when", req.when, "now (default), or idle: once built, wait until no run executes")
      ->check(CLI::IsMember({"now", "idle"}));
  approve->add_option("id", req.id, "request id")->required();
  deny->add_option("id", req.id, "request id")->required();
  deny->add_option("--reason", req.reason, "why (recorded)");

  int limit = 50;
  auto* history = app.add_subcommand("history", "what happened: instances, verifications, restart requests");
  add_where(history, where);
  history->add_option("--limit,-n", limit, "rows to show, newest first (default 50)")->check(CLI::PositiveNumber);
  history->add_flag("--json", json, "print JSON for scripts");

  auto* config_cmd = app.add_subcommand("config", "work with the config file");
  config_cmd->require_subcommand(1);
  auto* check = config_cmd->add_subcommand("check", "validate the config and print the effective values");
  check->add_option("--config,-c", config, "config file to check");

  BackupArgs backup;
  auto* backups = app.add_subcommand("backups", "snapshots of the data dir: list, create, verify, restore, prune");
  backups->require_subcommand(1);
  auto add_common = [&](CLI::App* verb) {
    verb->add_option("--config,-c", backup.config, "config file");
    verb->add_flag("--json", backup.json, "print JSON for scripts");
    return verb;
  };
  add_common(backups->add_subcommand("list", "list the snapshots, oldest first"));
  add_common(backups->add_subcommand("create", "take a snapshot of the data dir now"));
  add_common(backups->add_subcommand("verify", "re-hash a snapshot (or all) against its manifest"))
      ->add_option("name", backup.name, "snapshot name (default: every snapshot)");
  auto* restore = add_common(backups->add_subcommand("restore", "put a snapshot in place of the data dir"));
  restore->add_option("name", backup.name, "snapshot name")->required();
  restore->add_flag("--stop", backup.stop, "stop the running app first and start it again after");
  restore->add_flag("--allow-unauthenticated", backup.allow_unauthenticated,
                    "restore a snapshot whose manifest is not authenticated (made by an older version)");
  add_common(backups->add_subcommand("prune", "delete snapshots beyond the [backup] keep_* policy"))
      ->add_flag("--dry-run", backup.dry_run, "only show what would be deleted");

  ToolsArgs tools;
  auto* agentron_tools = app.add_subcommand(
      "agentron-tools", "the agent's tools in a running Agentron's tool list: install, uninstall, print");
  agentron_tools->require_subcommand(1);
  for (auto [verb, help] : {std::pair{"install", "add or update every offered tool (ids agentron-supervisor-*)"},
                            {"uninstall", "remove our tools (and only ours)"},
                            {"print", "print the tool rows, as added by hand"}}) {
    auto* sub = agentron_tools->add_subcommand(verb, help);
    sub->add_option("--config,-c", tools.config, "the supervisor's config file (its [control] section)");
    if (std::string(verb) != "print") {
      sub->add_option("--agentron-url", tools.agentron_url, "Agentron's address (default http://127.0.0.1:3000)");
      sub->add_flag("--dry-run", tools.dry_run, "show what would change, change nothing");
    } else {
      sub->add_flag("--with-token", tools.with_token, "include the token (default: a placeholder)");
    }
    if (std::string(verb) != "uninstall")
      sub->add_flag("--mcp", tools.mcp, "rows of protocol mcp (the MCP endpoint) instead of http");
  }

  auto* mcp_config = app.add_subcommand("mcp-config", "print what to paste into an MCP client's settings");
  mcp_config->add_option("--config,-c", tools.config, "the supervisor's config file (its [control] section)");
  mcp_config->add_option("--client", tools.client, "claude, cursor, agentron or generic (default)")
      ->check(CLI::IsMember({"claude", "cursor", "agentron", "generic"}));
  mcp_config->add_flag("--with-token", tools.with_token, "include the token (default: a placeholder)");

  OpenArgs open_args;
  auto* open = app.add_subcommand("open", "a one-time login link for the pages in the browser (opened on a desktop)");
  open->add_option("--config,-c", open_args.config, "the supervisor's config file (its [control] section)");
  open->add_flag("--no-browser", open_args.no_browser, "print the link only");

  CLI11_PARSE(app, argc, argv);
  if (*open) return cmd_open(open_args);
  if (*agentron_tools) return cmd_agentron_tools(agentron_tools->get_subcommands().front()->get_name(), tools);
  if (*mcp_config) return cmd_mcp_config(tools);
  if (*backups) return cmd_backups(backups->get_subcommands().front()->get_name(), backup);
  if (*run) return cmd_run(config);
  if (*status) return cmd_status(where, json);
  if (*verify) return cmd_verify(where, json);
  if (*request_restart) return cmd_request_restart(req);
  if (*approve) return cmd_approval("approve", req);
  if (*deny) return cmd_approval("deny", req);
  if (*rollback) return cmd_approval("rollback", req);
  if (*history) return cmd_history(where, json, limit);
  if (*check) return cmd_config_check(config);
  return kExitFailure;
}
