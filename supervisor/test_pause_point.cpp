#include "supervisor/test_pause_point.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdlib>

namespace agentron {

TestPausePoint TestPausePoint::from_environment() {
  TestPausePoint point;
  if (const char* phase = std::getenv("AGENTRON_TEST_PAUSE_AT"); phase != nullptr && *phase != '\0') {
    point.phase_ = phase;
    spdlog::warn("test pause point: a handover stops dead after journaling {} (AGENTRON_TEST_PAUSE_AT; tests only)",
                 point.phase_);
  }
  return point;
}

void TestPausePoint::pause_forever(std::string_view request_id) const {
  spdlog::warn("test pause: request {} paused after journaling {}", request_id, phase_);
  spdlog::default_logger()->flush();
  // The loop's SIGTERM/SIGINT handlers would only queue work for a loop that no longer
  // runs: let those signals end the process at once, as a kill would.
  ::signal(SIGTERM, SIG_DFL);
  ::signal(SIGINT, SIG_DFL);
  sigset_t ending;
  sigemptyset(&ending);
  sigaddset(&ending, SIGTERM);
  sigaddset(&ending, SIGINT);
  ::pthread_sigmask(SIG_UNBLOCK, &ending, nullptr);
  for (;;) ::pause();
}

}  // namespace agentron
