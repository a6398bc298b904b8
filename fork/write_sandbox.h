// The kernel's half of the guard: after confine_writes(), this process (and anything
// it starts) can create, change, rename or remove files only beneath the given
// directories — Linux Landlock, whose rules hold the directories themselves (open
// fds), not their paths. The guard's identity checks decide what may be written; this
// makes the decision stick while libgit2 works by path names that an agent editing
// the workspace could redirect between a check and a write. Reading is not restricted.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/result.h"

namespace agentron {

struct WriteSandbox {
  bool enforced = false;
  std::string description;  // "Landlock ABI 4: writes only beneath ...", or why there is none
};

// What confine_writes() would get from this kernel, without restricting anything.
WriteSandbox probe_write_sandbox();

// Restricts writes to beneath `dir_fds` (directories, O_PATH is enough) for the rest of
// the process's life. A kernel without Landlock ABI 2 (Linux 5.19; REFER, which
// libgit2's renames need) is not an error: the result says the sandbox is not enforced
// and the identity checks stand alone. Any other failure is an error.
Result<WriteSandbox> confine_writes(const std::vector<int>& dir_fds, const std::string& described_as);

// Runs `work` in a child process (fork(), no exec) that first confines its writes to
// beneath `dir_fds`, and returns what `work` returned: for a write that must be
// confined in a process that itself must not be (`release` fetches into its mirror,
// then runs the build, which needs its caches). `work` runs in a copy of this process:
// only its result comes back. REQUIRES: this process has one thread.
Result<std::string> run_confined(const std::vector<int>& dir_fds, const std::string& described_as,
                                 const std::function<Result<std::string>()>& work);

}  // namespace agentron
