// The real process layer: posix_spawn into a new session (so a signal to the group
// reaches grandchildren), stdout/stderr through pipes to agentron-log helpers, and
// one SIGCHLD-driven reaper on the Asio loop. docs/design.md §10 and docs/architecture.md
// explain why this is not Boost.Process and why reaping is central rather than per-pidfd.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <filesystem>
#include <map>

#include "launcher/process.h"

namespace agentron {

// Reaps every child of the supervisor on SIGCHLD: the instances it started, their
// log helpers, and — because the supervisor is a child subreaper — any grandchild
// orphaned when its parent died. Exactly one per process.
class ChildReaper {
 public:
  explicit ChildReaper(boost::asio::io_context& io);
  ChildReaper(const ChildReaper&) = delete;
  ChildReaper& operator=(const ChildReaper&) = delete;

  // Calls on_exit when `pid` is reaped.
  void watch(pid_t pid, std::function<void(ExitStatus)> on_exit);
  void unwatch(pid_t pid);
  // Calls check after every round of reaping; a check returning true is removed.
  int add_check(std::function<bool()> check);
  void remove_check(int id);

  // Reaps whatever has exited now (also done on every SIGCHLD).
  void reap();
  boost::asio::any_io_executor executor() { return sigchld_.get_executor(); }

 private:
  void arm();

  boost::asio::signal_set sigchld_;
  std::map<pid_t, std::function<void(ExitStatus)>> watched_;
  std::map<int, std::function<bool()>> checks_;
  int next_check_id_ = 1;
};

class PosixSpawner : public Spawner {
 public:
  // `log_helper` is the agentron-log executable that writes and rotates log files.
  // `log_helper` (agentron-log) and agentron-exec (for [app] user) live in one folder.
  PosixSpawner(ChildReaper& reaper, std::filesystem::path log_helper);
  Result<std::unique_ptr<Process>> spawn(const SpawnSpec& spec, ProcessObserver& observer) override;
  Result<std::unique_ptr<Process>> adopt(pid_t pid, ProcessObserver& observer) override;

 private:
  ChildReaper& reaper_;
  std::filesystem::path log_helper_;
  std::filesystem::path exec_helper_;
};

// Runs a helper command (agentron-fork) in its own session: stdin /dev/null, stdout
// and stderr into files (created 0600, truncated), the supervisor's environment.
// `on_exit` runs on the loop when the reaper reaps it. The pid leads its own process
// group, so kill(-pid) stops all of it.
Result<pid_t> spawn_command(ChildReaper& reaper, const std::vector<std::string>& argv, const std::filesystem::path& cwd,
                            const std::filesystem::path& stdout_file, const std::filesystem::path& stderr_file,
                            std::function<void(ExitStatus)> on_exit);

// The directory of the running executable (/proc/self/exe), where agentron-log lives.
std::filesystem::path executable_dir();

}  // namespace agentron
