// What a starting supervisor does about what an earlier one left behind when it was
// SIGKILLed (docs/design.md §6): its instances kept running (their own sessions) and a
// handover may be half done. The instance records say which instance had which role,
// the journal which request was unfinished, current-release.json whether its switch
// happened. The plan: exactly one instance keeps serving — after the switch the new
// one, else the current one — every other live instance is stopped, and the request
// is finished as done (switched) or rolled_back.
//
// A pure function of what was found, so every combination is unit-tested as a table
// (tests/supervisor/reconcile_plan_test.cpp); Daemon::reconcile gathers the inputs
// and carries the plan out.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "supervisor/handover.h"
#include "supervisor/instance_record.h"
#include "supervisor/release_store.h"

namespace agentron {

// What runs now.
struct LeftInstances {
  std::optional<InstanceRecord> current, candidate, retiring;  // live, by recorded role
  std::vector<InstanceRecord> unrecorded;                      // this data dir's instances without a record
};

// The journal's unfinished request.
struct UnfinishedRequest {
  std::string id;
  std::string commit;  // the release's full SHA once it was built
  std::string phase;   // the last phase journaled
};

struct ReconcilePlan {
  struct Stop {
    InstanceRecord record;
    SlotRole role;     // the role its slot takes while it stops
    std::string what;  // "unverified new", "old", ...: for the log
  };
  std::optional<InstanceRecord> serving;  // adopted as the current instance
  std::vector<Stop> stop;
  bool switched = false;  // the unfinished request's switch had happened
  // done (switched) or rolled_back; nullopt without an unfinished request.
  std::optional<HandoverPhase> request_state;
  std::string summary;  // what is done, for the log and the request's reason
  std::string request_reason;
};

ReconcilePlan plan_reconcile(const LeftInstances& left, const std::optional<UnfinishedRequest>& request,
                             const std::optional<CurrentRelease>& release);

}  // namespace agentron
