// Who agentron-fork works in the agent's workspace as. With [app] user, the supervisor
// (root) runs the workspace verbs for the agent; as root they would leave root's files
// in the agent's repository and run the fork's build and tests — the agent's code — as
// root. So, once root has read what only root may read (the config, the token in
// credentials_file), agentron-fork drops — in-process, no exec — to the app's user for
// good. The token stays in memory the app's user cannot read: the process is
// non-dumpable (fork/self_protection.h), and stays so after the drop (no exec resets
// it; drop_to() sets it again and checks). `release` is not dropped: it keeps its
// privileged steps root's and drops only its build (fork/build_user.h).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "common/result.h"
#include "launcher/run_as.h"

namespace agentron {

// The user's home from passwd if that folder exists, else "" (nobody's is /nonexistent).
std::string existing_home(uid_t uid);

// The user `verb` works as after the drop, for [app] `user` / `group`: nullopt — no
// drop, this process's own user as before — for `release`, when `user` is empty, when
// this process is not root, or when the user is root. Errors (drop_failed): a user or
// group this machine does not know.
Result<std::optional<RunAs>> workspace_verb_user(const std::string& verb, const std::string& user,
                                                 const std::string& group);

// Drops this process to `who` for good: the user's supplementary groups, the group id,
// then the user id — real, effective and saved — and checks the result: those ids are
// `who`'s, setuid(0) fails, no capability is left, and the process is non-dumpable.
// HOME becomes the user's home if it exists (left as it is otherwise). Returns that home
// ("" if none). Refused (drop_failed), before anything changes, if fs.suid_dumpable is 1:
// the kernel would make this process readable by `who` at the moment of the switch.
// Any failure is drop_failed; the caller must then stop, doing nothing.
// REQUIRES: root; make_undumpable() already called.
Result<std::string> drop_to(const RunAs& who);

}  // namespace agentron
