#pragma once

#include <string>
#include <string_view>

namespace agentron {

// "SIGTERM" or "TERM" (any case) → SIGTERM; 0 if not a signal a stop may use.
int parse_signal_name(std::string_view name);

}  // namespace agentron
