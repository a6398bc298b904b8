// The CLI side of the control socket: one blocking request/response.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/result.h"
#include "control/protocol.h"

namespace agentron {

// Sends `request` and returns the parsed response object. Fails with code
// "not_running" if nothing listens on `socket_path`.
// `timeout_seconds` bounds the wait for the answer (a stop answers only when the app
// is gone).
Result<nlohmann::json> control_request(const std::filesystem::path& socket_path, const ControlRequest& request,
                                       int timeout_seconds = 10);

}  // namespace agentron
