// systemd's notify protocol (Type=notify): one datagram to $NOTIFY_SOCKET. No
// libsystemd needed; without NOTIFY_SOCKET every call is a no-op.
#pragma once

#include <string>

namespace agentron {

// Sends `state` (e.g. "READY=1", "STOPPING=1", "STATUS=...") if running under systemd.
void sd_notify(const std::string& state);

}  // namespace agentron
