#include "supervisor/rollback_policy.h"

#include "db/sqlite_db.h"

namespace agentron {

Verdict judge_new_instance(const NewInstance& instance, const Counts& baseline) {
  // A damaged database outranks everything else the record says: it decides the repair.
  if (!instance.integrity.empty() && instance.integrity != kIntegrityOk) {
    return {false, HandoverDamage::integrity, "the new instance's integrity check failed: " + instance.integrity};
  }
  if (!instance.unverified.empty()) {
    return {false, HandoverDamage::none, "the new instance was not verified: " + instance.unverified};
  }
  if (instance.integrity.empty()) {
    return {false, HandoverDamage::none, "the new instance was not verified: its record has no integrity result"};
  }
  if (std::string drop = compare_counts(baseline, instance.counts); !drop.empty()) {
    return {false, HandoverDamage::rows_lost, "the new instance sees fewer rows than before: " + drop};
  }
  return {true, HandoverDamage::none, ""};
}

void Probation::start(Duration length) {
  length_ = length;
  until_ = length > Duration(0) ? clock_.now() + length : TimePoint{};
}

bool Probation::crash_switches_back() {
  if (clock_.now() >= until_) return false;
  until_ = {};
  return true;
}

}  // namespace agentron
