// The life of the supervised app: the instance state machine.
//
//            start()            probe passes            leader exits, group empty
//   stopped ────────► starting ─────────────► ready ──────────────────────────► (restart policy)
//      ▲                 │ not ready by timeout   │ stop()                          │ restart after delay
//      │                 ▼  (counts as a crash)   ▼                                 ▼
//      └──────────── stopping ◄──────── stop() ───┴──────────────────────────── backoff ──► starting
//                                                               give up ──► failed
//
// A new instance is `starting` until its readiness probe passes (tried every
// interval, up to timeout — healthcheck/readiness_waiter.h); without a probe it is
// ready at once. One that is not ready in time is stopped and handled like a crash.
// A stop sends stop_signal to the whole process group, waits stop_timeout, then
// SIGKILLs the group; it is complete only when no process of the group is left.
// An instance whose leader died on its own also has its leftover group stopped the
// same way before the policy restarts it, so a restart never races an orphan for the
// port or the database. All time comes from a Clock and all processes from a
// Spawner, so the machine is driven in tests by a fake clock and fake processes.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "healthcheck/probe.h"
#include "healthcheck/readiness_waiter.h"
#include "launcher/process.h"
#include "supervisor/restart_policy.h"

namespace agentron {

enum class InstanceState { stopped, starting, ready, stopping, backoff, failed };
// starting, ready or stopping: a process of the instance may be alive.
bool is_alive(InstanceState state);
const char* to_string(InstanceState state);

struct InstanceStatus {
  InstanceState state = InstanceState::stopped;
  std::string instance_id;  // of the current or last instance
  pid_t pid = 0;            // 0 unless starting, ready or stopping
  Duration uptime{0};       // of the current instance
  std::chrono::system_clock::time_point started_at{};
  int restart_count = 0;  // crash restarts since the supervisor started
  std::optional<ExitStatus> last_exit;
  std::string reason;           // why stopped / failed / last start failed
  Duration next_restart_in{0};  // in backoff
};

struct ReadinessSettings {
  Duration interval = std::chrono::milliseconds(250);
  Duration timeout = std::chrono::seconds(60);
};

struct StopSettings {
  int signal;
  Duration timeout;
};

class InstanceController : private ProcessObserver {
 public:
  // Builds the spawn spec for a new instance id. Called at every start, so config
  // changes (a reload) apply from the next start on.
  using SpecFactory = std::function<SpawnSpec(const std::string& instance_id)>;
  using IdFactory = std::function<std::string()>;
  // The readiness probe of a new instance; nullptr means ready as soon as started.
  using ProbeFactory = std::function<std::unique_ptr<Probe>(const std::string& instance_id)>;

  InstanceController(Clock& clock, Spawner& spawner, SpecFactory make_spec, IdFactory new_id, RestartConfig restart,
                     StopSettings stop);
  ~InstanceController() override;

  // From stopped or failed: start an instance now (forgets past crashes).
  void start();
  // From stopped: takes over `pid`, an instance an earlier supervisor started and
  // left serving when it died. It is ready at once (it was serving); from then on it
  // is stopped and restarted like any other. False (and a reason) if it cannot be.
  bool adopt(pid_t pid, const std::string& instance_id);
  // Stops gracefully; `done` runs once nothing of the instance is left (at once if
  // nothing runs). A pending restart is cancelled.
  void stop(std::function<void()> done);

  void set_restart_config(RestartConfig restart) { policy_.set_config(restart); }
  void set_stop_settings(StopSettings stop) { stop_ = stop; }
  // From the next start on. Without it every instance is ready once started.
  void set_readiness(ProbeFactory make_probe, ReadinessSettings settings) {
    make_probe_ = std::move(make_probe);
    readiness_ = settings;
  }

  InstanceStatus status() const;
  // Called after every state change, for logging.
  std::function<void(const InstanceStatus&)> on_change;

  // If the group is still not empty this long after SIGKILL, it is given up on
  // (a process stuck in uninterruptible sleep) so the supervisor is never wedged.
  static constexpr Duration kKillGrace = std::chrono::seconds(5);

 private:
  void on_leader_exit(ExitStatus status, bool group_empty) override;
  void on_group_empty() override;

  void spawn_instance();
  void on_readiness(Status status);
  void begin_group_stop();  // stop_signal to the group now, SIGKILL after stop_timeout
  void escalate_to_kill();
  void instance_gone();
  void apply_restart_policy();
  void set_state(InstanceState state, std::string reason = "");

  Clock& clock_;
  Spawner& spawner_;
  SpecFactory make_spec_;
  IdFactory new_id_;
  RestartPolicy policy_;
  StopSettings stop_;
  ProbeFactory make_probe_;
  ReadinessSettings readiness_;

  InstanceState state_ = InstanceState::stopped;
  std::unique_ptr<Process> process_;
  std::string instance_id_;
  TimePoint started_at_{};
  std::chrono::system_clock::time_point started_wall_{};
  std::optional<ExitStatus> last_exit_;
  std::string reason_;
  bool stop_requested_ = false;   // the current instance is being stopped on purpose
  bool group_signalled_ = false;  // begin_group_stop() ran for the current instance
  std::string not_ready_;         // why it was stopped for not being ready in time (a crash)
  std::unique_ptr<ReadinessWaiter> waiter_;
  Timer stop_timer_;  // stop_timeout, then kKillGrace
  Timer restart_timer_;
  TimePoint restart_at_{};
  std::vector<std::function<void()>> stop_waiters_;
};

}  // namespace agentron
