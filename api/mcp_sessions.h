// The MCP endpoint's sessions (docs/agent-tools.md, "MCP"): the handshake revisions
// (2025-03-26 to 2025-11-25) give each client a session at `initialize`, named by the
// Mcp-Session-Id it sends with every later request. A session holds what the handshake
// settled — the protocol revision, the client's name — and the log level the client set.
// Pure: time comes from a Clock, ids from the caller, so expiry is unit-tested with a
// FakeClock (tests/api/mcp_sessions_test.cpp).
//
// Bounded: Agentron's MCP client opens a session for every tool call and never ends
// one (upstream bc97d36, packages/runtime/src/mcp/client.ts), so sessions idle for
// longer than `idle` are forgotten, and at `capacity` the least recently used one goes.
// A client whose session was forgotten gets 404 and starts a new one, as the
// specification has it.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>

#include "common/clock.h"

namespace agentron {

struct McpSession {
  std::string id;
  std::string version;    // the negotiated revision, "2025-06-18"
  std::string client;     // "name version" from clientInfo, for log lines
  std::string log_level;  // logging/setLevel's; "" until set (no log notifications)
  TimePoint last_used;
};

class McpSessions {
 public:
  // `new_id` makes an unguessable id (128 random bits as hex, in the endpoint).
  McpSessions(Clock& clock, std::function<std::string()> new_id, size_t capacity = 1024,
              Duration idle = std::chrono::hours(24));

  // A new session; the least recently used one is dropped first when at capacity.
  McpSession& open(std::string version, std::string client);
  // The session named `id`, marked used now; null if unknown or idle too long.
  McpSession* find(const std::string& id);
  // Ends a session (DELETE); false if there was none.
  bool close(const std::string& id);
  size_t size() const { return sessions_.size(); }

 private:
  void forget_idle();

  Clock& clock_;
  std::function<std::string()> new_id_;
  size_t capacity_;
  Duration idle_;
  std::map<std::string, McpSession> sessions_;
};

}  // namespace agentron
