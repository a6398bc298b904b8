// The subcommands of agentron-fork. Each returns its JSON data or an Error; main.cpp
// prints them (human text or one JSON object) and sets the exit code.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "fork/push_guard.h"
#include "fork/write_sandbox.h"

namespace agentron {

struct ForkContext {
  ForkConfig fork;
  std::filesystem::path config_path;      // absolute, for the pre-push hook
  std::filesystem::path current_release;  // [app] release: never pruned
  // [app] user / group: as root, `release` runs the build as that user and seals the
  // result (fork/build_user.h); every other subcommand has dropped to that user before
  // it runs (fork/drop_privileges.h). Empty: everything runs as agentron-fork's user.
  std::string app_user, app_group;
  // The token (load_token()): sent to the fork, or known only to scrub it. Never
  // printed, never passed on.
  std::string token;
  GuardTargets targets;               // the fork and the upstream, identified at start
  WriteSandbox sandbox;               // set once confined (fork/write_sandbox.h)
  std::vector<std::string> warnings;  // shown with the result
};

// What a subcommand does with the token.
enum class TokenUse {
  send,   // ensure-fork, branch-head, clone-or-pull, push, release: sends it to the fork
  scrub,  // build, test: runs the agent's code, and knows the token only to scrub it
  none,   // the rest: only $AGENTRON_FORK_TOKEN's value, to scrub it
};
TokenUse token_use(const std::string& verb);

// The token: `from_environment` ($AGENTRON_FORK_TOKEN, taken at start), else — unless
// `use` is none — the first line of [fork] credentials_file. `send` refuses a file
// others can read (credentials_exposed); `scrub` reads it all the same, to hide it,
// and says so in `warnings`.
Result<std::string> load_token(const ForkConfig& fork, TokenUse use, std::string from_environment,
                               std::vector<std::string>& warnings);

// With `create`, a fork that does not exist yet is requested from the GitHub API
// ([fork] api_url) and waited for, up to `wait`.
Result<nlohmann::json> fork_ensure(ForkContext& ctx, bool create, Duration wait);
// The commit `branch` points at in the fork, as the fork says now (a remote ls: what
// is pushed, never the workspace's idea of it). not_on_fork if it has no such branch.
Result<nlohmann::json> fork_branch_head(ForkContext& ctx, const std::string& branch);
Result<nlohmann::json> fork_clone_or_pull(ForkContext& ctx, const std::string& branch);
Result<nlohmann::json> fork_create_branch(ForkContext& ctx, const std::string& name);
Result<nlohmann::json> fork_commit(ForkContext& ctx, const std::string& message, const std::vector<std::string>& paths);
Result<nlohmann::json> fork_push(ForkContext& ctx);
Result<nlohmann::json> fork_sync_upstream(ForkContext& ctx, const std::string& upstream_branch);
Result<nlohmann::json> fork_run(ForkContext& ctx, const std::string& which);  // "build" or "test"
// Builds a commit the fork has (fork/release.cpp). `branch` non-empty: the commit
// must be on that branch of the fork.
Result<nlohmann::json> fork_release(ForkContext& ctx, const std::string& commit, const std::string& branch);
// With `url`, judges that one push target (the pre-push hook's $2); otherwise the
// remote's configured targets (every remote if `remote` is empty).
Result<nlohmann::json> fork_check_guard(ForkContext& ctx, const std::string& remote, const std::string& url);
Result<nlohmann::json> fork_install_hooks(ForkContext& ctx, const std::string& self);

// Confines this process's writes to beneath `dirs` (fork/write_sandbox.h) and records
// the outcome in ctx.sandbox.
Status confine(ForkContext& ctx, const std::vector<int>& dirs, const std::string& described_as);

}  // namespace agentron
