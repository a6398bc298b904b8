// The process layer the state machines see: a Spawner that starts one instance in its
// own session and process group, and a Process handle to signal that group. The real
// implementation is launcher/posix_spawner.h; tests use a fake process table.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

namespace agentron {

// How a process ended.
struct ExitStatus {
  bool signaled = false;  // killed by `signal` rather than exiting with `code`
  int code = 0;
  int signal = 0;
  bool unknown = false;  // an adopted process: not our child, its status cannot be read

  static ExitStatus exited(int code) { return {false, code, 0, false}; }
  static ExitStatus killed(int signal) { return {true, 0, signal, false}; }
  static ExitStatus not_known() { return {false, -1, 0, true}; }
  bool success() const { return !signaled && code == 0 && !unknown; }
  std::string describe() const;  // "exit code 3", "killed by SIGKILL"
};

struct SpawnSpec {
  std::vector<std::string> argv;      // argv[0] without '/' is searched in the supervisor's PATH
  std::filesystem::path working_dir;  // must exist
  std::vector<std::string> env;       // the complete environment, "NAME=value"
  std::filesystem::path stdout_log;   // rotated by size; created with mode 0640
  std::filesystem::path stderr_log;
  std::uint64_t log_max_size = 0;  // 0: never rotate
  int log_keep = 5;
  std::string run_as_user;   // [app] user: run as this user (by name or number); "": as the supervisor
  std::string run_as_group;  // [app] group: instead of the user's primary group
};

// One started instance: the session/group leader and whatever it spawned into its group.
class Process {
 public:
  virtual ~Process() = default;
  virtual pid_t pid() const = 0;
  // Sends `signo` to every process of the group. A no-op once the group is empty.
  virtual void signal_group(int signo) = 0;
};

// Where a Process reports what happened to it, on the event loop.
class ProcessObserver {
 public:
  virtual ~ProcessObserver() = default;
  // The leader was reaped. If `group_empty`, nothing of the instance is left;
  // otherwise on_group_empty() follows once the rest of its group is gone.
  // Neither callback may destroy the Process that calls it.
  virtual void on_leader_exit(ExitStatus status, bool group_empty) = 0;
  virtual void on_group_empty() = 0;
};

class Spawner {
 public:
  virtual ~Spawner() = default;
  // Starts spec.argv in a new session. Fails at once, with the errno text, if the
  // program cannot be executed or the working directory cannot be entered.
  // The observer must outlive the returned Process.
  virtual Result<std::unique_ptr<Process>> spawn(const SpawnSpec& spec, ProcessObserver& observer) = 0;
  // Takes over a running process group an earlier supervisor started (and left
  // running when it died). Its exit is observed, not reaped: the status is unknown.
  virtual Result<std::unique_ptr<Process>> adopt(pid_t pid, ProcessObserver& observer) = 0;
};

}  // namespace agentron
