#include "api/mcp_sessions.h"

#include <algorithm>

namespace agentron {

McpSessions::McpSessions(Clock& clock, std::function<std::string()> new_id, size_t capacity, Duration idle)
    : clock_(clock), new_id_(std::move(new_id)), capacity_(std::max<size_t>(capacity, 1)), idle_(idle) {}

void McpSessions::forget_idle() {
  TimePoint now = clock_.now();
  std::erase_if(sessions_, [&](const auto& entry) { return now - entry.second.last_used > idle_; });
}

McpSession& McpSessions::open(std::string version, std::string client) {
  forget_idle();
  if (sessions_.size() >= capacity_) {
    auto oldest = std::min_element(sessions_.begin(), sessions_.end(), [](const auto& a, const auto& b) {
      return a.second.last_used < b.second.last_used;
    });
    sessions_.erase(oldest);
  }
  std::string id = new_id_();
  // An id generator that repeats itself would hand one client another's session.
  while (sessions_.count(id)) id = new_id_();
  McpSession& session = sessions_[id];
  session = McpSession{id, std::move(version), std::move(client), "", clock_.now()};
  return session;
}

McpSession* McpSessions::find(const std::string& id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return nullptr;
  if (clock_.now() - it->second.last_used > idle_) {
    sessions_.erase(it);
    return nullptr;
  }
  it->second.last_used = clock_.now();
  return &it->second;
}

bool McpSessions::close(const std::string& id) { return sessions_.erase(id) > 0; }

}  // namespace agentron
