#include "supervisor/status_json.h"

#include <ctime>

namespace agentron {

nlohmann::json to_json(const InstanceStatus& s) {
  using std::chrono::duration;
  nlohmann::json j;
  j["state"] = to_string(s.state);
  j["instance_id"] = s.instance_id;
  j["pid"] = s.pid == 0 ? nlohmann::json(nullptr) : nlohmann::json(s.pid);
  j["uptime_seconds"] = duration<double>(s.uptime).count();
  j["started_at"] = s.instance_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(utc_iso8601(s.started_at));
  j["restart_count"] = s.restart_count;
  if (!s.last_exit)
    j["last_exit"] = nullptr;
  else if (s.last_exit->signaled)
    j["last_exit"] = {{"signal", s.last_exit->signal}, {"description", s.last_exit->describe()}};
  else
    j["last_exit"] = {{"code", s.last_exit->code}, {"description", s.last_exit->describe()}};
  j["reason"] = s.reason;
  if (s.state == InstanceState::backoff) j["next_restart_in_seconds"] = duration<double>(s.next_restart_in).count();
  return j;
}

}  // namespace agentron
