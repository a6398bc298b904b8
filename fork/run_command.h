// Runs a build or test command to completion, bounded by a timeout, with its output
// in a log file: the `build`, `test` and `release` subcommands. The command is the
// agent's code: it gets no token — not in its environment, and nothing it prints
// reaches the log unscrubbed.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "common/duration.h"
#include "common/result.h"
#include "launcher/run_as.h"

namespace agentron {

struct CommandRun {
  int exit_code = -1;  // -1 if killed by a signal or the timeout
  int signal = 0;
  bool timed_out = false;
  double seconds = 0;
  std::string log_tail;  // the last lines of the log
  bool ok() const { return exit_code == 0 && !timed_out; }
  std::string describe() const;
};

// The variable agentron-fork reads the token from; never passed on.
inline constexpr const char* kTokenVariable = "AGENTRON_FORK_TOKEN";

// Another user to run the command as (a release's build when agentron-fork runs as root
// with [app] user: fork/build_user.h).
struct CommandUser {
  RunAs who;
  std::filesystem::path exec_helper;  // agentron-exec, which drops to `who` and execs the command
  std::string home;                   // HOME for the command; "" keeps agentron-fork's
};

// `env` ("NAME=value") without kTokenVariable and without any variable whose value
// contains `secret` (if it is at least 4 characters).
std::vector<std::string> environment_without(const std::vector<std::string>& env, const std::string& secret);

// Starts `argv` in `cwd` in its own process group with agentron-fork's environment
// minus the token (environment_without), stdout and stderr through a pipe into `log`
// with `secret` scrubbed (fork/secret_scrub.h). Waits on a pidfd up to `timeout`; then
// SIGTERM to the group, and SIGKILL 5 s later. The group is SIGKILLed when the command
// ends, and at once if agentron-fork dies first (fork/group_watchdog.h). Fails only if
// the command could not be started. With `user`, the command runs as `user->who`
// (groups, group id, then user id — real, effective and saved — set by agentron-exec
// before the exec), with HOME set to `user->home` if that is not empty; agentron-fork
// stays what it is, and so does the log. With `echo_fd` >= 0 the scrubbed output goes
// there too, as it comes (agentron-fork's stderr for build and test: a job's output.log,
// which job_status and the MCP endpoint's progress read while the command runs).
Result<CommandRun> run_logged(const std::vector<std::string>& argv, const std::filesystem::path& cwd,
                              const std::filesystem::path& log, Duration timeout, const std::string& secret,
                              const CommandUser* user = nullptr, int echo_fd = -1);

// The last `lines` lines of a file.
std::string tail_file(const std::filesystem::path& path, int lines);

}  // namespace agentron
