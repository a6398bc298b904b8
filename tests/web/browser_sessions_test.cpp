// Browser sign-in (web/browser_sessions.h) on a fake clock: a code works once and for
// 60 s, a session lives while it is used, and the limits hold.
#include "web/browser_sessions.h"

#include <catch2/catch.hpp>

#include "common/fake_clock.h"

using namespace agentron;
using namespace std::chrono_literals;

namespace {

BrowserSession redeem_ok(BrowserSessions& sessions, const std::string& code) {
  auto session = sessions.redeem(code);
  REQUIRE(session);
  REQUIRE(session.value().has_value());
  return **session;
}

bool redeems(BrowserSessions& sessions, const std::string& code) {
  auto session = sessions.redeem(code);
  REQUIRE(session);
  return session.value().has_value();
}

}  // namespace

TEST_CASE("a login code opens one session, once", "[web][sessions]") {
  FakeClock clock;
  BrowserSessions sessions(clock);
  std::string code = sessions.issue_code().value();
  CHECK(code.size() == 32);
  BrowserSession s = redeem_ok(sessions, code);
  CHECK(s.id.size() == 64);
  CHECK(s.csrf.size() == 64);
  CHECK(s.id != s.csrf);
  CHECK_FALSE(redeems(sessions, code));  // used
  REQUIRE(sessions.find(s.id));
  CHECK(sessions.find(s.id)->csrf == s.csrf);
  CHECK_FALSE(sessions.find(s.id.substr(1)));
  CHECK_FALSE(sessions.find(""));
  CHECK_FALSE(redeems(sessions, ""));
}

TEST_CASE("a login code expires after its lifetime (60 s unless configured); a wrong one is spent on nothing",
          "[web][sessions]") {
  FakeClock clock;
  BrowserSessions sessions(clock);
  std::string late = sessions.issue_code().value();
  std::string in_time = sessions.issue_code().value();
  clock.advance(59s);
  CHECK(redeems(sessions, in_time));
  clock.advance(1s);
  CHECK_FALSE(redeems(sessions, late));
  CHECK_FALSE(redeems(sessions, std::string(32, '0')));
  BrowserSessions quick(clock, 5s);
  std::string code = quick.issue_code().value();
  clock.advance(5s);
  CHECK_FALSE(redeems(quick, code));
}

TEST_CASE("a session ends after 12 h without a request, or when ended", "[web][sessions]") {
  FakeClock clock;
  BrowserSessions sessions(clock);
  BrowserSession s = redeem_ok(sessions, sessions.issue_code().value());
  clock.advance(11h);
  CHECK(sessions.find(s.id));  // seen: the 12 h start again
  clock.advance(11h);
  CHECK(sessions.find(s.id));
  clock.advance(12h);
  CHECK_FALSE(sessions.find(s.id));
  BrowserSession t = redeem_ok(sessions, sessions.issue_code().value());
  sessions.end(t.id);
  CHECK_FALSE(sessions.find(t.id));
  CHECK(sessions.session_count() == 0);
}

TEST_CASE("codes and sessions are bounded: the oldest code, the least recently seen session go", "[web][sessions]") {
  FakeClock clock;
  BrowserSessions sessions(clock);
  std::string first = sessions.issue_code().value();
  for (size_t i = 1; i < BrowserSessions::kMaxCodes; ++i) REQUIRE(sessions.issue_code());
  std::string last = sessions.issue_code().value();  // one over: `first` is dropped
  CHECK_FALSE(redeems(sessions, first));
  CHECK(redeems(sessions, last));

  BrowserSessions many(clock);
  std::vector<BrowserSession> open;
  for (size_t i = 0; i < BrowserSessions::kMaxSessions; ++i) {
    clock.advance(1s);
    open.push_back(redeem_ok(many, many.issue_code().value()));
  }
  clock.advance(1s);
  CHECK(many.find(open[0].id));  // the oldest, but just seen: open[1] is now the least recent
  redeem_ok(many, many.issue_code().value());
  CHECK(many.session_count() == BrowserSessions::kMaxSessions);
  CHECK(many.find(open[0].id));
  CHECK_FALSE(many.find(open[1].id));
}
