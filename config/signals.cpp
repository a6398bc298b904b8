#include "config/signals.h"

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstring>

#include "config/config.h"

namespace agentron {
namespace {

struct NamedSignal {
  const char* name;
  int signo;
};
constexpr NamedSignal kSignals[] = {{"SIGTERM", SIGTERM}, {"SIGINT", SIGINT},   {"SIGHUP", SIGHUP},
                                    {"SIGQUIT", SIGQUIT}, {"SIGUSR1", SIGUSR1}, {"SIGUSR2", SIGUSR2},
                                    {"SIGKILL", SIGKILL}};

}  // namespace

int parse_signal_name(std::string_view name) {
  std::string upper(name);
  std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
  if (upper.rfind("SIG", 0) != 0) upper = "SIG" + upper;
  for (const auto& s : kSignals) {
    if (upper == s.name) return s.signo;
  }
  return 0;
}

std::string signal_name(int signo) {
  for (const auto& s : kSignals) {
    if (s.signo == signo) return s.name;
  }
  const char* abbrev = sigabbrev_np(signo);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(signo);
}

}  // namespace agentron
