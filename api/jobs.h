// The agent's long tools as jobs (docs/agent-tools.md, "Jobs"): agentron-fork runs as a
// child process, recorded in <state_dir>/jobs/<id>/ — job.json (the record, written
// atomically at start and at the end), answer.json (its --json answer), output.log
// (its stderr). A caller waits for a job up to a bound and gets either the result or
// the job still running; job_status reads it later. One job at a time: every tool
// that runs agentron-fork works in the one workspace, so a second job (a build while
// a pull runs) is refused naming the first. A job that was running when the
// supervisor died is reported interrupted, never running forever.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "launcher/process.h"

namespace agentron {

enum class JobState { running, succeeded, failed, interrupted };
const char* to_string(JobState state);

struct JobRecord {
  std::string id;
  std::string tool;
  JobState state = JobState::running;
  std::string started_at;
  std::string ended_at;  // "" while running
  std::string exit;      // "exit code 0", "killed by SIGTERM"; "" while running
  // agentron-fork's answer: its data (succeeded) or {"code","message"} (failed); null while running.
  nlohmann::json result;
  // agentron-fork's warnings (a commit without docs, a credentials file others can read).
  std::vector<std::string> warnings;
  std::string log_tail;  // the last lines of its output
  nlohmann::json to_json() const;
};

namespace job_error {
inline constexpr const char* busy = "job_running";  // another job runs: one at a time
inline constexpr const char* no_such_job = "no_such_job";
inline constexpr const char* start_failed = "job_start_failed";
}  // namespace job_error

// Starts argv with stdout and stderr into the given files; on_exit runs on the loop.
// Real: spawn_command (launcher/posix_spawner.h); tests pass a fake.
using JobStarter =
    std::function<Result<pid_t>(const std::vector<std::string>& argv, const std::filesystem::path& out,
                                const std::filesystem::path& err, std::function<void(ExitStatus)> on_exit)>;

class JobRunner {
 public:
  JobRunner(Clock& clock, std::filesystem::path dir, JobStarter start);
  ~JobRunner();
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  // Records left running by an earlier supervisor become interrupted.
  void recover();
  // Starts `argv` as a job of `tool`; Error job_error::busy (naming the running job)
  // while another one runs.
  Result<std::string> start(const std::string& tool, const std::vector<std::string>& argv);
  // Calls `then` once: with the finished record as soon as the job ends, or with the
  // running one after `wait`. An unknown id is answered at once with an Error.
  void await(const std::string& id, Duration wait, std::function<void(Result<JobRecord>)> then);
  Result<JobRecord> find(const std::string& id) const;
  // Where job `id`'s output goes (agentron-fork's stderr, the build's output with it).
  std::filesystem::path output_log(const std::string& id) const { return folder(id) / "output.log"; }
  std::optional<std::string> running() const;
  // SIGTERM to the running job's process group (the supervisor is stopping); the job
  // is then recorded interrupted (unless it still succeeds).
  void stop_running();

 private:
  struct Waiter {
    Timer timer;
    std::function<void(Result<JobRecord>)> then;
  };
  struct Active {
    JobRecord record;
    pid_t pid = 0;
    bool stopped = false;  // stop_running(): an end without success is interrupted, not failed
    std::map<int, Waiter> waiters;
  };

  std::filesystem::path folder(const std::string& id) const { return dir_ / id; }
  void finish(const std::string& id, ExitStatus status);
  JobRecord with_tail(JobRecord record) const;
  void save(const JobRecord& record) const;

  Clock& clock_;
  std::filesystem::path dir_;
  JobStarter start_;
  std::unique_ptr<Active> active_;  // the running job, if any
  int next_waiter_ = 0;
  int sequence_ = 0;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace agentron
