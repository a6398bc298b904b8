// What the CLI needs to call the running supervisor's control API ([control]): its
// address and a token read from its file.
#pragma once

#include <filesystem>
#include <string>

#include "common/result.h"
#include "config/config.h"

namespace agentron {

// The first line of a token file the supervisor made at its first start
// ([control] token_file or operator_token_file).
Result<std::string> read_token(const std::filesystem::path& file);

// Where the control API listens: [control] listen — or, with port 0, the port the
// running supervisor bound (its status says).
Result<std::string> listen_address(const Config& config);

}  // namespace agentron
