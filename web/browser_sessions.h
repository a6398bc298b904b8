// Browser sign-in for the control API's pages (docs/operations.md, "Following
// improvements in the browser"), as Jupyter does it for a local tool: whoever holds the
// operator's token asks for a one-time login code (`agentron-supervisor open`), the
// browser trades it at /login for a session cookie, and each session carries a CSRF
// token its page forms must send back. Codes last 60 s (by default) and work once; a session ends
// after `idle_timeout` without a request, at /logout, or when the supervisor stops
// (they live in memory only). Pure: time comes from a Clock, tested with a fake one.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"

namespace agentron {

struct BrowserSession {
  std::string id;    // the cookie's value: 256 random bits as hex
  std::string csrf;  // what the session's forms send back: 256 random bits as hex
  TimePoint last_seen{};
};

class BrowserSessions {
 public:
  static constexpr Duration kIdleTimeout = std::chrono::hours(12);
  static constexpr size_t kMaxCodes = 16;     // more: the oldest is dropped
  static constexpr size_t kMaxSessions = 32;  // more: the least recently seen ends

  // Codes work for `code_lifetime` ([control] login_link_lifetime).
  explicit BrowserSessions(const Clock& clock, Duration code_lifetime = std::chrono::seconds(60))
      : clock_(clock), code_lifetime_(code_lifetime) {}

  Duration code_lifetime() const { return code_lifetime_; }
  // A new one-time login code (128 random bits as hex), valid for code_lifetime().
  Result<std::string> issue_code();
  // The session `code` opens, or nullopt if the code is unknown, used or expired.
  // Either way the code is spent.
  Result<std::optional<BrowserSession>> redeem(std::string_view code);
  // The live session with this cookie value (its last_seen moved to now), or null.
  const BrowserSession* find(std::string_view id);
  // Ends the session; an unknown id does nothing.
  void end(std::string_view id);

  size_t session_count() const { return sessions_.size(); }

 private:
  struct Code {
    std::string value;
    TimePoint expires{};
  };
  void expire();

  const Clock& clock_;
  Duration code_lifetime_;
  std::vector<Code> codes_;
  std::vector<BrowserSession> sessions_;
};

}  // namespace agentron
