#include "supervisor/reconcile_plan.h"

#include <algorithm>

namespace agentron {
namespace {

// The switch is the release file: make_current writes it, naming the request, before
// it rewrites any instance record, so a kill between those steps still counts as
// switched. A file from before request ids were written is matched by commit.
bool release_switched_to(const std::optional<CurrentRelease>& release, const UnfinishedRequest& request) {
  if (!release) return false;
  if (!release->request_id.empty()) return release->request_id == request.id;
  return !request.commit.empty() && release->release.commit == request.commit;
}

std::string describe(const InstanceRecord& r) {
  return "instance " + r.instance_id + " (pid " + std::to_string(r.pid) + ")";
}

}  // namespace

ReconcilePlan plan_reconcile(const LeftInstances& left, const std::optional<UnfinishedRequest>& request,
                             const std::optional<CurrentRelease>& release) {
  ReconcilePlan plan;
  plan.switched = request && release_switched_to(release, *request);
  // After a switch the new instance serves (its record may still say candidate).
  plan.serving = plan.switched && left.candidate ? left.candidate : left.current;
  if (plan.switched && plan.serving && left.retiring && plan.serving->pid == left.retiring->pid) {
    plan.serving = left.current;
  }
  std::vector<std::string> done;
  std::vector<pid_t> handled;
  if (plan.serving) handled.push_back(plan.serving->pid);
  auto leave = [&](const std::optional<InstanceRecord>& r, SlotRole role, const std::string& what) {
    if (!r || std::find(handled.begin(), handled.end(), r->pid) != handled.end()) return;
    handled.push_back(r->pid);
    plan.stop.push_back({*r, role, what});
    done.push_back("stopping the " + what + " " + describe(*r));
  };
  leave(left.candidate, SlotRole::candidate, plan.switched ? "new" : "unverified new");
  leave(left.retiring, SlotRole::retiring, "old");
  leave(left.current, SlotRole::retiring, "old");
  // Started, then the supervisor died before recording it: never serving, stopped.
  for (const auto& orphan : left.unrecorded) leave(orphan, SlotRole::orphan, "unrecorded");
  if (plan.serving) done.push_back("kept " + describe(*plan.serving) + " serving");

  for (const auto& d : done) plan.summary += (plan.summary.empty() ? "" : "; ") + d;
  if (!request) return plan;
  plan.request_state = plan.switched ? HandoverPhase::done : HandoverPhase::rolled_back;
  plan.request_reason = "the supervisor was killed during " + request->phase + "; at restart: " +
                        (plan.summary.empty() ? std::string("no instance of it was running") : plan.summary);
  return plan;
}

}  // namespace agentron
