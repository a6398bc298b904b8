// When a new release is refused, and when the supervisor goes back on its own — the
// rollback judgement in one place:
//   * judge_new_instance: a handover's new instance, once its verification record
//     came, is accepted, or refused as not verified, as having lost rows (the old
//     instance shares the data: the rows are put back from the snapshot), or as
//     damaged (integrity; with stop-first the snapshot is restored). Handover acts on
//     the verdict (its fail paths undo what was done).
//   * Probation: a crash of the new release's instance within [handover] probation
//     of the switch sends the supervisor back to the previous release.
// Both are unit-tested with a fake clock (tests/supervisor/rollback_policy_test.cpp).
#pragma once

#include <string>

#include "common/clock.h"
#include "supervisor/handover.h"

namespace agentron {

struct Verdict {
  bool accept = false;
  HandoverDamage damage = HandoverDamage::none;  // what a refusal must repair
  std::string reason;                            // why it was refused; "" when accepted
};

// `baseline`: the live counts taken just before the new instance started.
Verdict judge_new_instance(const NewInstance& instance, const Counts& baseline);

class Probation {
 public:
  explicit Probation(Clock& clock) : clock_(clock) {}

  // A handover switched releases: `length` of probation starts now (0: none).
  void start(Duration length);
  // Something else is in charge now (a new handover or rollback): no switch-back.
  void end() { until_ = {}; }
  // The current instance exited or failed. True — once — if that is within
  // probation: the new release is to blame and the supervisor switches back.
  bool crash_switches_back();
  Duration length() const { return length_; }

 private:
  Clock& clock_;
  TimePoint until_{};
  Duration length_{};
};

}  // namespace agentron
