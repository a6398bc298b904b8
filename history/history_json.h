// The ledger as JSON, one shape for every reader: `history --json`, the control API
// (/v1/history, /v1/requests, platform_history) and the page.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "history/history.h"

namespace agentron {

nlohmann::json json_of(const HistoryEvent& e);
// A request with its phases (each with its time and detail), backup and counts
// before → after.
nlohmann::json json_of(const HistoryRequest& r, const std::vector<HistoryPhase>& phases);

}  // namespace agentron
