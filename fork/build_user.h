// Who a release's build runs as (fork/release.cpp). The build is the fork's own code —
// the agent's — so when agentron-fork runs as root (the supervisor's handover) and the
// config has [app] user, the build runs as that user and the release it made is sealed
// into a root-owned copy (fork/seal_tree.h). Everything privileged stays root's: the
// token, the fetch into the mirror, the export of the tree, the log, the seal. What
// keeps the result out of the app's reach is that no folder on the way to it is
// writable by the app's user: releases_dir, and every folder above it.
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <optional>
#include <string>

#include "common/result.h"
#include "fork/run_command.h"
#include "launcher/run_as.h"

namespace agentron {

// The user a release's build drops to, for `[app] user` / `group` (empty: none):
//  * nullopt if `user` is empty, or this process already is that user — then the
//    build, its release and releases_dir are that user's, as without [app] user, and
//    nothing can be sealed against it;
//  * that user (RunAs), HOME its home from passwd if that folder exists, and
//    agentron-exec beside this program, if this process is root;
//  * needs_root otherwise: a release must not be built by a third user.
Result<std::optional<CommandUser>> release_build_user(const std::string& user, const std::string& group);

// Whether `who` may create, rename or remove entries in a directory with `st`: it owns
// it, or the group or others may write it and `who` is in that group or an other.
// (ACLs are not read.)
bool may_write(const struct stat& st, const RunAs& who);

// Fails, saying what to do, unless the directory `dir` (releases_dir, opened, at the
// real path `real_path`) and every folder above it are out of `who`'s reach: `dir` not
// writable by `who` at all, and no folder above it that `who` could rename it out of —
// writable by `who`, unless sticky with the next folder on the way not `who`'s (so
// /tmp is fine).
Status check_out_of_reach(int dir, const std::filesystem::path& real_path, const RunAs& who);

// Gives everything beneath `dir`, and `dir`, to `who` (uid and gid), never following a
// symlink. REQUIRES: no one but this process can reach `dir` yet (a new mkdtemp folder
// in a releases_dir `who` cannot write): it walks by path.
Status give_tree_to(const std::filesystem::path& dir, const RunAs& who);

}  // namespace agentron
