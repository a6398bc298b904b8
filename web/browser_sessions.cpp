#include "web/browser_sessions.h"

#include <algorithm>

#include "api/api_token.h"
#include "api/request_guard.h"

namespace agentron {

void BrowserSessions::expire() {
  TimePoint now = clock_.now();
  std::erase_if(codes_, [&](const Code& c) { return c.expires <= now; });
  std::erase_if(sessions_, [&](const BrowserSession& s) { return now - s.last_seen >= kIdleTimeout; });
}

Result<std::string> BrowserSessions::issue_code() {
  expire();
  auto code = random_hex(16);
  if (!code) return code.error();
  if (codes_.size() >= kMaxCodes) codes_.erase(codes_.begin());  // the oldest
  codes_.push_back({code.value(), clock_.now() + code_lifetime_});
  return code;
}

Result<std::optional<BrowserSession>> BrowserSessions::redeem(std::string_view code) {
  expire();
  // Every code is compared, each in constant time: how long this takes says nothing
  // about which code a guess came close to.
  auto match = codes_.end();
  for (auto it = codes_.begin(); it != codes_.end(); ++it) {
    if (constant_time_equal(it->value, code)) match = it;
  }
  if (match == codes_.end()) return std::optional<BrowserSession>();
  codes_.erase(match);
  auto id = random_hex(32);
  if (!id) return id.error();
  auto csrf = random_hex(32);
  if (!csrf) return csrf.error();
  if (sessions_.size() >= kMaxSessions) {
    sessions_.erase(std::min_element(sessions_.begin(), sessions_.end(),
                                     [](const auto& a, const auto& b) { return a.last_seen < b.last_seen; }));
  }
  sessions_.push_back({id.value(), csrf.value(), clock_.now()});
  return std::optional<BrowserSession>(sessions_.back());
}

const BrowserSession* BrowserSessions::find(std::string_view id) {
  expire();
  BrowserSession* match = nullptr;
  for (auto& s : sessions_) {
    if (constant_time_equal(s.id, id)) match = &s;
  }
  if (match) match->last_seen = clock_.now();
  return match;
}

void BrowserSessions::end(std::string_view id) {
  std::erase_if(sessions_, [&](const BrowserSession& s) { return constant_time_equal(s.id, id); });
}

}  // namespace agentron
