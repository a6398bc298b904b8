// The control API's bearer token (docs/security.md, "Control API"): 256 random bits as
// 64 hex digits in a file only the supervisor's user can read, made at the first start.
// Whoever holds it may do what the API offers; the supervisor never logs it.
#pragma once

#include <filesystem>
#include <string>

#include "common/result.h"

namespace agentron {

// Reads the token from `file`, first creating it if there is none: a new random token,
// mode 0600, created exclusively and never through a symlink; its folder is created 0700
// if missing. An existing file is refused unless it is a regular file owned by this
// process's user, neither readable nor writable by group or others, holding a token of
// at least 32 characters; the error says how to fix it.
Result<std::string> load_or_create_api_token(const std::filesystem::path& file);

inline constexpr size_t kMinApiTokenLength = 32;

// `bytes` random bytes from the kernel (getrandom), as 2 × `bytes` hex digits.
Result<std::string> random_hex(size_t bytes);

}  // namespace agentron
