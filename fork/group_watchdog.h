// A build must not outlive the agentron-fork that started it: build_timeout is
// enforced by agentron-fork, so a crashed or killed agentron-fork would leave the
// agent's build running for ever. The watchdog is a small process in the build's
// process group that kills the group the moment agentron-fork is gone, however it
// went: it waits on a pipe that only agentron-fork holds open, and the kernel closes
// that when agentron-fork dies.
//
// Being a member of the group also keeps the group's id from being reused while
// agentron-fork may still signal it, even after the build's leader has been reaped.
// It is not a boundary against the build: the build runs as the same user and can
// kill the watchdog or leave the group (setsid) — as it could run anything anyway.
#pragma once

#include <sys/types.h>

#include "common/result.h"
#include "common/unique_fd.h"

namespace agentron {

class GroupWatchdog {
 public:
  // Forks the watchdog into process group `group` (which must exist: an unreaped
  // leader keeps it). The watchdog ignores SIGTERM, SIGINT, SIGHUP and SIGQUIT, so
  // only SIGKILL — or its own kill when agentron-fork is gone — ends it.
  static Result<GroupWatchdog> start(pid_t group);

  GroupWatchdog(GroupWatchdog&&) noexcept;
  GroupWatchdog& operator=(GroupWatchdog&&) = delete;
  // Kills the whole group (the watchdog with it) and reaps the watchdog.
  ~GroupWatchdog();

 private:
  GroupWatchdog(pid_t group, pid_t pid, UniqueFd alive) : group_(group), pid_(pid), alive_(std::move(alive)) {}
  pid_t group_ = 0;
  pid_t pid_ = 0;
  UniqueFd alive_;  // the write end: closed when agentron-fork is gone
};

}  // namespace agentron
