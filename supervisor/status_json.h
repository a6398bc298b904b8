#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "common/utc_time.h"
#include "supervisor/instance_controller.h"

namespace agentron {

// The instance part of `status --json`.
nlohmann::json to_json(const InstanceStatus& status);

}  // namespace agentron
