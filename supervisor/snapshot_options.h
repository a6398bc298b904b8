// A snapshot of the configured data dir, as every taker makes it — the handover's
// pre-restart one, `backups create`, the control API's POST /v1/backups: the same
// folder, excludes, key, the app's database as the one that must be in it, and with
// [app] user the app's files read as that user.
#pragma once

#include <string>

#include "backup/snapshot.h"
#include "config/config.h"

namespace agentron {

// Fails only for an [app] user this machine does not know. Resolves names (NSS): call
// it off the event loop.
Result<SnapshotOptions> snapshot_options(const Config& config, std::string kind, std::string request_id = "");

}  // namespace agentron
