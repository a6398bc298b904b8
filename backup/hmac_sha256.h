// HMAC-SHA256, the one libcrypto call that authenticates backup records
// (backup/backup_key.h). Implemented in backup/sha256.cpp, beside the SHA-256 it
// shares the dlopen()ed libcrypto with.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace agentron {

// HMAC-SHA256(key, data): 32 raw bytes. Fails only if libcrypto does.
Result<std::string> hmac_sha256(std::string_view key, std::string_view data);

}  // namespace agentron
