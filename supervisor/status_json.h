#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "supervisor/instance_controller.h"

namespace agentron {

// "2026-11-27T05:01:02Z"
std::string utc_iso8601(std::chrono::system_clock::time_point t);

// The instance part of `status --json`.
nlohmann::json to_json(const InstanceStatus& status);

}  // namespace agentron
