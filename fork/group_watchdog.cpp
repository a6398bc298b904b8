#include "fork/group_watchdog.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <utility>

#include "fork/fork_errors.h"

namespace agentron {

namespace {

// The watchdog's whole life, in the forked child: async-signal-safe calls only.
[[noreturn]] void watch(pid_t group, int alive_read) {
  // The parent calls setpgid() too: whichever comes first, the child is in the group
  // before either goes on. If the group is gone already there is nothing to watch.
  if (::setpgid(0, group) != 0) ::_exit(0);
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT}) ::sigaction(sig, &ignore, nullptr);
  // Nothing of agentron-fork's stays open here but the pipe's read end: not the write
  // end (it would hold its own pipe open), not agentron-fork's stdout (its reader
  // would wait for the watchdog).
  ::dup2(alive_read, 0);
  ::close_range(1, ~0U, 0);
  char byte = 0;
  while (::read(0, &byte, 1) < 0 && errno == EINTR) {
  }
  ::kill(0, SIGKILL);  // its own group: the build's
  ::_exit(0);
}

}  // namespace

Result<GroupWatchdog> GroupWatchdog::start(pid_t group) {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) return errno_error(fork_error::spawn_failed, "pipe2", errno);
  UniqueFd alive_read(fds[0]), alive_write(fds[1]);
  pid_t pid = ::fork();
  if (pid < 0) return errno_error(fork_error::spawn_failed, "fork (the build's watchdog)", errno);
  if (pid == 0) watch(group, alive_read.get());
  if (::setpgid(pid, group) != 0 && errno != EACCES) {  // EACCES: the child got there first
    int err = errno;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return errno_error(fork_error::spawn_failed, "setpgid (the build's watchdog)", err);
  }
  return GroupWatchdog(group, pid, std::move(alive_write));
}

GroupWatchdog::GroupWatchdog(GroupWatchdog&& other) noexcept
    : group_(other.group_), pid_(std::exchange(other.pid_, 0)), alive_(std::move(other.alive_)) {}

GroupWatchdog::~GroupWatchdog() {
  if (pid_ <= 0) return;
  ::kill(-group_, SIGKILL);
  while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace agentron
