// Text from outside (what the agent wrote: a summary, a run id, a branch, a reason)
// made safe to print on the operator's terminal.
#pragma once

#include <string>

namespace agentron {

// `text` with every control character (C0, DEL, and C1 as UTF-8) shown as \xNN: it
// cannot move the cursor, erase lines or retitle the terminal (the red team's finding
// 5, docs/security.md).
std::string printable(const std::string& text);

}  // namespace agentron
