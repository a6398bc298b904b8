// Which snapshots to keep (restic-style): the newest keep_last, the newest of each of
// the last keep_daily / keep_weekly / keep_monthly days, weeks, months (UTC) that have
// a snapshot — and, whatever the policy says, the newest verified snapshot and any
// snapshot an unfinished handover refers to. Pure: time comes in with the snapshots.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace agentron {

struct RetentionPolicy {
  int keep_last = 10;  // >= 1: the newest snapshot is always kept
  int keep_daily = 7;
  int keep_weekly = 0;
  int keep_monthly = 0;
};

struct RetentionCandidate {
  std::string name;
  std::chrono::system_clock::time_point created;
  std::optional<bool> verified;  // outcome of its last verify, if any
  bool pinned = false;           // referenced by an unfinished handover
};

struct RetentionDecision {
  std::string name;
  bool keep = false;
  std::string reason;  // why kept ("last 3", "daily 2026-11-27", "newest verified", "pinned")
};

// `candidates` oldest first (as list_snapshots gives them); decisions in that order.
std::vector<RetentionDecision> plan_retention(const std::vector<RetentionCandidate>& candidates,
                                              const RetentionPolicy& policy);

}  // namespace agentron
