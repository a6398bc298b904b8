// The subcommands of agentron-fork. Each returns its JSON data or an Error; main.cpp
// prints them (human text or one JSON object) and sets the exit code.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.h"
#include "config/config.h"

namespace agentron {

struct ForkContext {
  ForkConfig fork;
  std::filesystem::path config_path;      // absolute, for the pre-push hook
  std::filesystem::path current_release;  // [app] release: never pruned
  std::string token;                      // from AGENTRON_FORK_TOKEN or credentials_file; never printed
  std::vector<std::string> warnings;      // shown with the result
};

// Reads the token: AGENTRON_FORK_TOKEN, else the credentials file (which must be 0600).
Result<std::string> load_token(const ForkConfig& fork);

// With `create`, a fork that does not exist yet is requested from the GitHub API
// ([fork] api_url) and waited for, up to `wait`.
Result<nlohmann::json> fork_ensure(ForkContext& ctx, bool create, Duration wait);
Result<nlohmann::json> fork_clone_or_pull(ForkContext& ctx, const std::string& branch);
Result<nlohmann::json> fork_create_branch(ForkContext& ctx, const std::string& name);
Result<nlohmann::json> fork_commit(ForkContext& ctx, const std::string& message, const std::vector<std::string>& paths);
Result<nlohmann::json> fork_push(ForkContext& ctx);
Result<nlohmann::json> fork_sync_upstream(ForkContext& ctx, const std::string& upstream_branch);
Result<nlohmann::json> fork_run(ForkContext& ctx, const std::string& which);  // "build" or "test"
// `branch` non-empty: the commit must be reachable from origin/<branch>.
Result<nlohmann::json> fork_release(ForkContext& ctx, const std::string& commit, const std::string& branch);
// With `url`, judges that one push target (the pre-push hook's $2); otherwise the
// remote's configured targets (every remote if `remote` is empty).
Result<nlohmann::json> fork_check_guard(ForkContext& ctx, const std::string& remote, const std::string& url);
Result<nlohmann::json> fork_install_hooks(ForkContext& ctx, const std::string& self);

// Removes the token and any user:password@ from text that leaves the process.
std::string scrub(const std::string& text, const std::string& token);

}  // namespace agentron
