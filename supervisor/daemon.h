// `agentron-supervisor run`: the daemon. One Asio event loop owns everything —
// signals, the child reaper, timers, the control socket — so there are no threads
// and no polling: every change arrives as an event.
#pragma once

#include <functional>

#include "config/config.h"

namespace agentron {

// Loads the config again for a reload (SIGHUP): the same source as at start.
using ConfigLoader = std::function<ConfigResult()>;

// Runs in the foreground until SIGTERM/SIGINT has stopped the app. Returns the
// process exit code: 0 after a clean stop, non-zero if it could not start.
int run_daemon(Config config, ConfigLoader reload);

}  // namespace agentron
