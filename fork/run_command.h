// Runs a build or test command to completion, bounded by a timeout, with its output
// in a log file: the `build`, `test` and `release` subcommands.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "common/duration.h"
#include "common/result.h"

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

// Starts `argv` in `cwd` in its own process group, stdout and stderr appended to
// `log`. Waits on a pidfd up to `timeout`; then SIGTERM to the group, and SIGKILL 5 s
// later. Fails only if the command could not be started.
Result<CommandRun> run_logged(const std::vector<std::string>& argv, const std::filesystem::path& cwd,
                              const std::filesystem::path& log, Duration timeout);

// The last `lines` lines of a file.
std::string tail_file(const std::filesystem::path& path, int lines);

}  // namespace agentron
