#include "supervisor/instance_controller.h"

#include <csignal>

namespace agentron {

const char* to_string(InstanceState state) {
  switch (state) {
    case InstanceState::stopped: return "stopped";
    case InstanceState::starting: return "starting";
    case InstanceState::ready: return "ready";
    case InstanceState::stopping: return "stopping";
    case InstanceState::backoff: return "backoff";
    case InstanceState::failed: return "failed";
  }
  return "?";
}

bool is_alive(InstanceState state) {
  return state == InstanceState::starting || state == InstanceState::ready || state == InstanceState::stopping;
}

InstanceController::InstanceController(Clock& clock, Spawner& spawner, SpecFactory make_spec, IdFactory new_id,
                                       RestartConfig restart, StopSettings stop)
    : clock_(clock),
      spawner_(spawner),
      make_spec_(std::move(make_spec)),
      new_id_(std::move(new_id)),
      policy_(restart),
      stop_(stop) {}

InstanceController::~InstanceController() = default;

void InstanceController::start() {
  if (state_ != InstanceState::stopped && state_ != InstanceState::failed) return;
  policy_.reset();
  spawn_instance();
}

bool InstanceController::adopt(pid_t pid, const std::string& instance_id) {
  if (state_ != InstanceState::stopped) return false;
  auto process = spawner_.adopt(pid, *this);
  if (!process) {
    reason_ = "cannot adopt pid " + std::to_string(pid) + ": " + process.error().message;
    return false;
  }
  policy_.reset();
  process_ = std::move(process.value());
  instance_id_ = instance_id;
  stop_requested_ = false;
  group_signalled_ = false;
  not_ready_.clear();
  last_exit_.reset();
  started_at_ = clock_.now();
  started_wall_ = clock_.wall_now();
  set_state(InstanceState::ready, "adopted: left serving by an earlier supervisor");
  return true;
}

void InstanceController::stop(std::function<void()> done) {
  switch (state_) {
    case InstanceState::stopped:
    case InstanceState::failed: done(); return;
    case InstanceState::backoff:
      restart_timer_.reset();
      set_state(InstanceState::stopped, "stopped on request");
      done();
      return;
    case InstanceState::stopping:  // already stopping (maybe leftovers of a crash): now for good
      stop_requested_ = true;
      stop_waiters_.push_back(std::move(done));
      return;
    case InstanceState::starting:
    case InstanceState::ready:
      stop_requested_ = true;
      stop_waiters_.push_back(std::move(done));
      set_state(InstanceState::stopping, "stop requested");
      begin_group_stop();
      return;
  }
}

void InstanceController::spawn_instance() {
  instance_id_ = new_id_();
  auto process = spawner_.spawn(make_spec_(instance_id_), *this);
  stop_requested_ = false;
  group_signalled_ = false;
  started_at_ = clock_.now();
  started_wall_ = clock_.wall_now();
  if (!process) {
    // A program that cannot be executed is a crash at start: the policy retries with
    // backoff and gives up at the cap, and the reason names what could not run.
    last_exit_.reset();
    reason_ = "start failed: " + process.error().message;
    process_.reset();
    apply_restart_policy();
    return;
  }
  process_ = std::move(process.value());
  not_ready_.clear();
  set_state(InstanceState::starting);
  if (state_ != InstanceState::starting) return;  // an observer stopped it
  std::unique_ptr<Probe> probe = make_probe_ ? make_probe_(instance_id_) : nullptr;
  if (!probe) return set_state(InstanceState::ready);
  waiter_ = std::make_unique<ReadinessWaiter>(clock_, std::move(probe), readiness_.interval, readiness_.timeout,
                                              [this](Status s) { on_readiness(std::move(s)); });
}

void InstanceController::on_readiness(Status status) {
  if (state_ != InstanceState::starting) return;
  if (status) return set_state(InstanceState::ready);
  // Not ready in time: stopped the graceful way, then handled as a crash.
  not_ready_ = "instance " + instance_id_ + " " + status.error().message;
  set_state(InstanceState::stopping, not_ready_ + "; stopping it");
  begin_group_stop();
}

void InstanceController::begin_group_stop() {
  group_signalled_ = true;
  waiter_.reset();
  process_->signal_group(stop_.signal);
  stop_timer_ = clock_.start_timer(stop_.timeout, [this] { escalate_to_kill(); });
}

void InstanceController::escalate_to_kill() {
  reason_ = "still running " + format_duration(stop_.timeout) + " after " + signal_name(stop_.signal) +
            ": sent SIGKILL to the process group";
  if (on_change) on_change(status());
  process_->signal_group(SIGKILL);
  stop_timer_ = clock_.start_timer(kKillGrace, [this] {
    reason_ = "process group " + std::to_string(process_->pid()) + " still not empty " + format_duration(kKillGrace) +
              " after SIGKILL; giving up on it";
    instance_gone();
  });
}

void InstanceController::on_leader_exit(ExitStatus status, bool group_empty) {
  // A leader given up on after SIGKILL may still be reaped later: nothing to do then.
  if (!is_alive(state_)) return;
  last_exit_ = status;
  if (group_empty) {
    instance_gone();
    return;
  }
  if (!group_signalled_) {
    // The leader died on its own but left processes in its group: stop them the
    // graceful way before anything restarts.
    set_state(InstanceState::stopping,
              "instance " + instance_id_ + " " + status.describe() + "; stopping what is left of its process group");
    begin_group_stop();
  }
}

void InstanceController::on_group_empty() { instance_gone(); }

void InstanceController::instance_gone() {
  stop_timer_.reset();
  waiter_.reset();
  if (stop_requested_) {
    stop_requested_ = false;
    set_state(InstanceState::stopped,
              "stopped on request" + (last_exit_ ? " (" + last_exit_->describe() + ")" : std::string()));
    auto waiters = std::move(stop_waiters_);
    stop_waiters_.clear();
    for (auto& done : waiters) done();
    return;
  }
  reason_ = !not_ready_.empty()
                ? not_ready_
                : "instance " + instance_id_ + " " + (last_exit_ ? last_exit_->describe() : std::string("vanished"));
  apply_restart_policy();
}

void InstanceController::apply_restart_policy() {
  Duration uptime = process_ ? clock_.now() - started_at_ : Duration(0);
  bool clean = process_ && last_exit_ && last_exit_->success() && not_ready_.empty();
  RestartDecision decision = policy_.on_exit(clock_.now(), uptime, reason_, clean);
  switch (decision.kind) {
    case RestartDecision::Kind::restart:
      restart_at_ = clock_.now() + decision.delay;
      set_state(InstanceState::backoff, reason_);
      // Even a zero delay goes through the loop: a program failing to start at once
      // must not recurse into spawn_instance().
      restart_timer_ = clock_.start_timer(decision.delay, [this] { spawn_instance(); });
      return;
    case RestartDecision::Kind::stay_stopped: set_state(InstanceState::stopped, decision.reason); return;
    case RestartDecision::Kind::give_up: set_state(InstanceState::failed, decision.reason); return;
  }
}

void InstanceController::set_state(InstanceState state, std::string reason) {
  state_ = state;
  reason_ = std::move(reason);
  if (on_change) on_change(status());
}

InstanceStatus InstanceController::status() const {
  InstanceStatus s;
  s.state = state_;
  s.instance_id = instance_id_;
  bool alive = is_alive(state_);
  s.pid = alive && process_ ? process_->pid() : 0;
  s.uptime = alive ? clock_.now() - started_at_ : Duration(0);
  s.started_at = started_wall_;
  s.restart_count = policy_.total_restarts();
  s.last_exit = last_exit_;
  s.reason = reason_;
  if (state_ == InstanceState::backoff) s.next_restart_in = restart_at_ - clock_.now();
  return s;
}

}  // namespace agentron
