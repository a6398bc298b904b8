// The agent's workspace, opened so that what agentron-fork writes there lands in the
// workspace's own .git directory — not in a repository a `gitdir:` file, a symlink, a
// `commondir` or `core.worktree` points at, and never in the upstream's.
#pragma once

#include "common/result.h"
#include "common/unique_fd.h"
#include "fork/commands.h"
#include "fork/git_repo.h"

namespace agentron {

struct Workspace {
  UniqueFd dir;  // the workspace folder, held open: the boundary of the write sandbox
  GitRepo repo;
};

// Opens [fork] workspace and checks the opened repository: <workspace>/.git is a real
// directory (not a file or a symlink) without a `commondir`; its objects and refs are
// real directories; it shares no storage with the upstream, and the upstream does not
// lie inside the workspace; the repository libgit2 opened is that directory, with the
// workspace as its work tree; and `origin` fetches from the fork.
// Errors: no_workspace, workspace_redirected, workspace_not_fork.
Result<Workspace> open_workspace(const ForkContext& ctx);

// The workspace folder alone, held open (clone-or-pull creates it first if absent).
Result<UniqueFd> open_workspace_dir(const ForkContext& ctx);

}  // namespace agentron
