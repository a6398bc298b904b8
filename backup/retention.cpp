#include "backup/retention.h"

#include <algorithm>
#include <ctime>
#include <functional>
#include <numeric>
#include <set>

#include "common/utc_time.h"

namespace agentron {
namespace {

void keep(RetentionDecision& d, const std::string& reason) {
  if (!d.keep)
    d.reason = reason;
  else
    d.reason += ", " + reason;
  d.keep = true;
}

// Keeps the newest snapshot of each of the `count` newest periods that have one.
void keep_per_period(const std::vector<size_t>& newest_first, const std::vector<RetentionCandidate>& candidates,
                     std::vector<RetentionDecision>& decisions, int count, const char* label, const char* format) {
  std::set<std::string> periods;
  for (size_t i : newest_first) {
    if (static_cast<int>(periods.size()) >= count) break;
    std::string period = format_utc(candidates[i].created, format);
    if (periods.insert(period).second) keep(decisions[i], std::string(label) + " " + period);
  }
}

}  // namespace

std::vector<RetentionDecision> plan_retention(const std::vector<RetentionCandidate>& candidates,
                                              const RetentionPolicy& policy) {
  std::vector<RetentionDecision> decisions;
  for (const auto& c : candidates) decisions.push_back({c.name, false, "beyond the retention policy"});
  std::vector<size_t> newest_first(candidates.size());
  std::iota(newest_first.begin(), newest_first.end(), 0);
  // Candidates come oldest first: among equal times, the later one is the newer.
  std::sort(newest_first.begin(), newest_first.end(), [&](size_t a, size_t b) {
    return candidates[a].created != candidates[b].created ? candidates[a].created > candidates[b].created : a > b;
  });

  for (int n = 0; n < policy.keep_last && n < static_cast<int>(newest_first.size()); ++n) {
    keep(decisions[newest_first[n]], "last " + std::to_string(policy.keep_last));
  }
  keep_per_period(newest_first, candidates, decisions, policy.keep_daily, "daily", "%Y-%m-%d");
  keep_per_period(newest_first, candidates, decisions, policy.keep_weekly, "weekly", "%G-W%V");
  keep_per_period(newest_first, candidates, decisions, policy.keep_monthly, "monthly", "%Y-%m");

  auto newest_verified = std::find_if(newest_first.begin(), newest_first.end(),
                                      [&](size_t i) { return candidates[i].verified.value_or(false); });
  if (newest_verified != newest_first.end()) keep(decisions[*newest_verified], "newest verified");
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (candidates[i].pinned) keep(decisions[i], "pinned by an unfinished handover");
  }
  return decisions;
}

}  // namespace agentron
