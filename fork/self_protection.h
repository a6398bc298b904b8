// What agentron-fork does to itself first, before it holds the token: the agent's
// code (build, test, release) runs as the same user, and the same user may read a
// process's /proc/<pid>/environ and /proc/<pid>/mem, ptrace it, and have the kernel
// write its memory to a core file in a folder of its choice.
#pragma once

#include <string>

#include "common/result.h"

namespace agentron {

// PR_SET_DUMPABLE 0: /proc/<pid>/{environ,mem,maps,fd} become root's, ptrace by the
// same user is refused and no core file is written. This process's own /proc/self
// stays usable; fork() keeps the setting, execve() resets it, so the commands it
// runs are ordinary processes.
Status make_undumpable();

// The value of the environment variable `name`, after overwriting it in place — in the
// block the kernel shows as /proc/<pid>/environ, which unsetenv() leaves as it was —
// and unsetting it. "" if unset.
std::string take_from_environment(const char* name);

}  // namespace agentron
