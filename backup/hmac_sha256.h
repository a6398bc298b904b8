// HMAC-SHA256, the one libcrypto call that authenticates backup records
// (backup/backup_key.h). Kept apart from backup/sha256.h so that however libcrypto is
// bound (linked, or loaded on first use), this is the only place that changes.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace agentron {

// HMAC-SHA256(key, data): 32 raw bytes. Fails only if libcrypto does.
Result<std::string> hmac_sha256(std::string_view key, std::string_view data);

}  // namespace agentron
