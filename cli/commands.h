// One function per CLI verb family (watchman cmds/ style); main.cpp only wires them to CLI11.
#pragma once

#include <string>

namespace agentron {

// Exit codes shared by every verb.
enum ExitCode { kExitOk = 0, kExitFailure = 1, kExitConfig = 2, kExitNotRunning = 3 };

struct BackupArgs {
  std::string config;
  std::string name;  // verify (empty: all), restore
  bool json = false;
  bool stop = false;                   // restore: stop the running app first, start it after
  bool allow_unauthenticated = false;  // restore: a snapshot whose manifest carries no MAC
  bool dry_run = false;                // prune
};

// Where a verb finds a supervisor's state: --state-dir, else <--data-dir>/.supervisor,
// else the config's [app] state_dir (cli/config_source.h, state_dir_from).
struct StateFlags {
  std::string config;
  std::string data_dir;
  std::string state_dir;
};

struct RequestArgs {
  StateFlags where;
  std::string branch, commit, summary, requested_by, run_id;  // request-restart
  std::string when = "now";                                   // request-restart: now or idle
  std::string id, reason;                                     // approve, deny
};

struct ToolsArgs {
  std::string config;
  std::string agentron_url = "http://127.0.0.1:3000";
  bool dry_run = false;            // install, uninstall: show the changes, make none
  bool with_token = false;         // print, mcp-config: the real token instead of a placeholder
  bool mcp = false;                // rows of protocol mcp (the capability endpoint) instead of http
  std::string client = "generic";  // mcp-config: claude | cursor | agentron | generic
};

struct OpenArgs {
  std::string config;
  bool no_browser = false;  // print the link only, even on a desktop
};

int cmd_run(const std::string& config_flag);
int cmd_open(const OpenArgs& args);
int cmd_agentron_tools(const std::string& verb, const ToolsArgs& args);
int cmd_mcp_config(const ToolsArgs& args);
int cmd_request_restart(const RequestArgs& args);
int cmd_approval(const std::string& verb, const RequestArgs& args);
int cmd_backups(const std::string& verb, const BackupArgs& args);
int cmd_status(const StateFlags& where, bool json);
int cmd_config_check(const std::string& config_flag);
int cmd_verify(const StateFlags& where, bool json);
int cmd_history(const StateFlags& where, bool json, int limit);

}  // namespace agentron
