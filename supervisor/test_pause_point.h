// A test-only pause point in the handover: AGENTRON_TEST_PAUSE_AT=<phase> (a
// HandoverPhase name, e.g. "switching").
//
// The SIGKILL tests (tests/integration/test_handover_sigkill.py) kill the supervisor in
// a given phase of a handover, and some phases last microseconds (switching is
// journaled and acted on in one turn of the loop), so a kill sent when the phase's log
// line arrives lands in a later one. With the variable set, the supervisor stops dead
// right after journaling that phase, before the phase acts: it logs
// "test pause: request <id> paused after journaling <phase>", and its loop thread
// waits for the signal that ends the process (SIGKILL, or SIGTERM/SIGINT, which no
// longer stop anything gracefully). Not for operators: a paused supervisor supervises
// nothing.
//
// Read once, when the daemon is made. Unset — always, outside tests — it costs one
// empty-string check per journaled phase.
#pragma once

#include <string>
#include <string_view>

namespace agentron {

class TestPausePoint {
 public:
  // From AGENTRON_TEST_PAUSE_AT; logs a warning when it is set.
  static TestPausePoint from_environment();

  // Does not return when `phase` is the one to pause at.
  void after_journaling(std::string_view request_id, std::string_view phase) const {
    if (!phase_.empty() && phase == phase_) pause_forever(request_id);
  }

 private:
  [[noreturn]] void pause_forever(std::string_view request_id) const;

  std::string phase_;  // "" when unset
};

}  // namespace agentron
