#include "history/history_json.h"

namespace agentron {

nlohmann::json json_of(const HistoryEvent& e) {
  return {{"id", e.id},
          {"at", e.at},
          {"kind", e.kind},
          {"instance_id", e.instance_id},
          {"pid", e.pid},
          {"release", e.release},
          {"commit", e.commit},
          {"detail", e.detail},
          {"counts", e.counts},
          {"integrity", e.integrity},
          {"request_id", e.request_id}};
}

nlohmann::json json_of(const HistoryRequest& r, const std::vector<HistoryPhase>& phases) {
  nlohmann::json trail = nlohmann::json::array();
  for (const auto& p : phases) trail.push_back({{"phase", p.phase}, {"at", p.at}, {"detail", p.detail}});
  return {{"id", r.id},
          {"phases", trail},
          {"received_at", r.received_at},
          {"branch", r.branch},
          {"commit", r.commit},
          {"summary", r.summary},
          {"requested_by", r.requested_by},
          {"run_id", r.run_id},
          {"state", r.state},
          {"updated_at", r.updated_at},
          {"reason", r.reason},
          {"backup", r.backup_path},
          {"counts_before", r.baseline_counts},
          {"counts_after", r.verified_counts}};
}

}  // namespace agentron
