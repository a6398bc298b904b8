#include "supervisor/handover.h"

#include "fork/fork_errors.h"
#include "supervisor/rollback_policy.h"

namespace agentron {

const char* to_string(HandoverPhase phase) {
  switch (phase) {
    case HandoverPhase::requested: return "requested";
    case HandoverPhase::awaiting_approval: return "awaiting_approval";
    case HandoverPhase::building_release: return "building_release";
    case HandoverPhase::waiting_for_idle: return "waiting_for_idle";
    case HandoverPhase::backing_up: return "backing_up";
    case HandoverPhase::starting_new: return "starting_new";
    case HandoverPhase::verifying: return "verifying";
    case HandoverPhase::switching: return "switching";
    case HandoverPhase::stopping_old: return "stopping_old";
    case HandoverPhase::done: return "done";
    case HandoverPhase::rolled_back: return "rolled_back";
    case HandoverPhase::rejected: return "rejected";
  }
  return "?";
}

bool is_finished(HandoverPhase phase) {
  return phase == HandoverPhase::done || phase == HandoverPhase::rolled_back || phase == HandoverPhase::rejected;
}

std::string compare_counts(const Counts& baseline, const Counts& verified) {
  std::string problems;
  for (const auto& [name, before] : baseline) {
    auto after = verified.find(name);
    std::string problem;
    if (after == verified.end())
      problem = name + " missing from the new instance's record";
    else if (after->second < before)
      problem = name + " dropped from " + std::to_string(before) + " to " + std::to_string(after->second);
    if (!problem.empty()) problems += (problems.empty() ? "" : "; ") + problem;
  }
  return problems;
}

Handover::Handover(Clock& clock, HandoverSteps& steps, HandoverConfig config, RestartRequest request, Finished finished)
    : clock_(clock), steps_(steps), config_(config), request_(std::move(request)), finished_(std::move(finished)) {}

void Handover::enter(HandoverPhase phase, const std::string& detail) {
  phase_ = phase;
  steps_.journal(phase, detail);  // before the phase acts
}

void Handover::start() {
  enter(HandoverPhase::requested, request_.summary);
  if (existing_release_) {
    release_ = *existing_release_;
    enter(HandoverPhase::building_release, "nothing to build: " + release_.dir.string() + " exists");
    return back_up();
  }
  if (config_.require_approval) {
    enter(HandoverPhase::awaiting_approval, "waiting for approval: `agentron-supervisor approve " + request_.id +
                                                "` or POST /v1/requests/" + request_.id + "/approve");
    return;
  }
  build();
}

bool Handover::approve() {
  if (phase_ != HandoverPhase::awaiting_approval) return false;
  build();
  return true;
}

bool Handover::deny(const std::string& why) {
  if (phase_ != HandoverPhase::awaiting_approval) return false;
  finish(HandoverPhase::rejected, "denied" + (why.empty() ? std::string() : ": " + why));
  return true;
}

void Handover::abandon(const std::string& why) {
  if (is_finished(phase_)) return;
  finish(switched_ ? HandoverPhase::done : HandoverPhase::rolled_back, why);
}

void Handover::build() {
  enter(HandoverPhase::building_release, request_.branch + " @ " + request_.commit);
  steps_.build_release(request_, [this](Result<ReleaseInfo> release) {
    if (phase_ != HandoverPhase::building_release) return;
    if (!release) {
      // Not on the fork is the request's fault, not the build's: rejected, not rolled back.
      const std::string& code = release.error().code;
      if (code == fork_error::not_on_fork || code == fork_error::unknown_commit) {
        return finish(HandoverPhase::rejected, release.error().message);
      }
      return fail("the release build failed: " + release.error().message);
    }
    release_ = *release;
    if (request_.when == "idle") return wait_for_idle();
    back_up();
  });
}

// The release is built; the restart waits for the app to be idle — the seed's "after
// this run completes" — so no run is cut by the switch.
void Handover::wait_for_idle() {
  idle_deadline_ = clock_.now() + config_.idle_timeout;
  busy_ = -1;
  check_idle();
}

void Handover::check_idle() {
  steps_.count_busy([this](Result<std::int64_t> busy) {
    if (phase_ != HandoverPhase::building_release && phase_ != HandoverPhase::waiting_for_idle) return;
    if (!busy) return fail("cannot ask whether the app is idle ([handover] idle_query): " + busy.error().message);
    if (*busy <= 0) return back_up();
    if (*busy != busy_) {
      busy_ = *busy;
      enter(HandoverPhase::waiting_for_idle, std::to_string(busy_) +
                                                 " run(s) executing; the restart waits for none "
                                                 "(at most " +
                                                 format_duration(config_.idle_timeout) + ")");
    }
    if (clock_.now() + kIdlePoll > idle_deadline_) {
      return fail("the app was not idle within " + format_duration(config_.idle_timeout) +
                  " ([handover] idle_timeout): " + std::to_string(busy_) +
                  " run(s) still executing; nothing was restarted");
    }
    idle_timer_ = clock_.start_timer(kIdlePoll, [this] { check_idle(); });
  });
}

void Handover::back_up() {
  enter(HandoverPhase::backing_up, "snapshot of the data dir");
  steps_.take_snapshot([this](Result<std::string> path) {
    if (phase_ != HandoverPhase::backing_up) return;
    if (!path) return fail("the snapshot failed: " + path.error().message);
    backup_ = *path;
    take_baseline();
  });
}

void Handover::take_baseline() {
  // Just before the new instance starts: what it must find at least.
  steps_.count_live([this](Result<Counts> counts) {
    if (phase_ != HandoverPhase::backing_up) return;
    if (!counts) return fail("cannot count the live database: " + counts.error().message);
    baseline_ = *counts;
    if (config_.strategy == HandoverStrategy::stop_first) {
      enter(HandoverPhase::stopping_old, "stop-first: the old instance stops before the new one starts");
      return steps_.stop_old([this] {
        old_stopped_ = true;
        start_new();
      });
    }
    start_new();
  });
}

void Handover::start_new() {
  enter(HandoverPhase::starting_new, release_.commit + " from " + release_.dir.string());
  new_started_ = true;
  verify_timer_ = clock_.start_timer(config_.verify_timeout, [this] {
    fail("the new instance was not verified within " + format_duration(config_.verify_timeout) +
         " ([handover] verify_timeout)");
  });
  steps_.start_new(
      release_,
      [this](const std::filesystem::path& logs) {
        new_logs_ = logs;
        if (phase_ == HandoverPhase::starting_new) enter(HandoverPhase::verifying, "logs " + logs.string());
      },
      [this](Result<NewInstance> instance) {
        if (phase_ != HandoverPhase::starting_new && phase_ != HandoverPhase::verifying) return;
        verify_timer_.reset();
        if (!instance) return fail(instance.error().message);
        accept(*instance);
      });
}

void Handover::accept(const NewInstance& instance) {
  verified_ = instance.counts;
  if (Verdict v = judge_new_instance(instance, baseline_); !v.accept) return fail(v.reason, v.damage);
  enter(HandoverPhase::switching, "verified " + instance.instance_id);
  if (auto s = steps_.make_current(release_); !s) return fail("cannot make the release current: " + s.error().message);
  new_started_ = false;  // it is the current instance now
  switched_ = true;
  if (old_stopped_) return finish(HandoverPhase::done, "");
  enter(HandoverPhase::stopping_old, "");
  steps_.stop_old([this] { finish(HandoverPhase::done, ""); });
}

void Handover::fail(const std::string& why, HandoverDamage damage) {
  if (is_finished(phase_)) return;
  verify_timer_.reset();
  idle_timer_.reset();
  reason_ = why;
  auto after_new = [this, why, damage] {
    if (damage == HandoverDamage::rows_lost && !backup_.empty()) {
      // The old instance shares the database: what the new one deleted is gone for it
      // too. The snapshot taken just before has it.
      return steps_.restore_lost_rows(backup_, [this, why](Result<std::string> done) {
        finish(HandoverPhase::rolled_back,
               why + "; " + (done ? *done : "the lost rows could NOT be put back: " + done.error().message));
      });
    }
    if (!old_stopped_) return finish(HandoverPhase::rolled_back, why);
    auto previous_back = [this](const std::string& so_far) {
      steps_.start_old(
          [this, so_far] { finish(HandoverPhase::rolled_back, so_far + "; the previous release runs again"); });
    };
    // stop-first: nothing runs now. A database the check found damaged is replaced by
    // the snapshot before the previous release starts on it.
    if (damage == HandoverDamage::integrity && !backup_.empty()) {
      return steps_.restore_snapshot(backup_, [why, previous_back](Result<std::string> done) {
        previous_back(why + "; " + (done ? *done : "the snapshot could NOT be restored: " + done.error().message));
      });
    }
    previous_back(why);
  };
  if (!new_started_) return after_new();
  new_started_ = false;
  steps_.journal(phase_, "failed: " + why + "; stopping the new instance");
  steps_.stop_new(after_new);
}

void Handover::finish(HandoverPhase outcome, const std::string& why) {
  verify_timer_.reset();
  idle_timer_.reset();
  // Where to look next: the new instance's own output says why it failed.
  std::string reason = why;
  if (outcome == HandoverPhase::rolled_back && !new_logs_.empty()) {
    reason += "; the new instance's logs: " + new_logs_.string();
  }
  reason_ = reason;
  enter(outcome, reason);
  auto finished = std::move(finished_);
  finished_ = nullptr;
  if (finished) finished(outcome, reason);
}

}  // namespace agentron
