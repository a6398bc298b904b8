#include "fork/run_command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <deque>
#include <fstream>

#include "common/unique_fd.h"
#include "fork/fork_errors.h"

extern char** environ;

namespace agentron {
namespace fs = std::filesystem;

namespace {

int pidfd_open_(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// Waits for the pidfd to become readable (the process exited) for at most `ms`.
bool wait_exit(int pidfd, long long ms) {
  pollfd p{pidfd, POLLIN, 0};
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    int rc = ::poll(&p, 1, static_cast<int>(std::max<long long>(0, std::min<long long>(left.count(), INT32_MAX))));
    if (rc > 0) return true;
    if (rc == 0) return false;
    if (errno != EINTR) return false;
  }
}

}  // namespace

std::string CommandRun::describe() const {
  if (timed_out) return "timed out";
  if (signal) return "killed by signal " + std::to_string(signal);
  return "exit code " + std::to_string(exit_code);
}

std::string tail_file(const fs::path& path, int lines) {
  std::ifstream in(path);
  std::deque<std::string> last;
  std::string line;
  while (std::getline(in, line)) {
    last.push_back(line);
    if (static_cast<int>(last.size()) > lines) last.pop_front();
  }
  std::string out;
  for (const auto& l : last) out += l + "\n";
  return out;
}

Result<CommandRun> run_logged(const std::vector<std::string>& argv, const fs::path& cwd, const fs::path& log,
                              Duration timeout) {
  if (argv.empty()) return Error{fork_error::bad_command, "empty command"};
  UniqueFd out(::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!out.valid()) return errno_error(fork_error::log_failed, "cannot open " + log.string(), errno);
  UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_adddup2(&actions, devnull.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, out.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, out.get(), 2);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  sigset_t empty, all;
  sigemptyset(&empty);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  auto began = std::chrono::steady_clock::now();
  int rc = posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return errno_error(fork_error::spawn_failed, "cannot run '" + argv[0] + "' in " + cwd.string(), rc);

  UniqueFd pidfd(pidfd_open_(pid));
  CommandRun run;
  long long ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
  if (!pidfd.valid() || !wait_exit(pidfd.get(), ms)) {
    run.timed_out = true;
    ::kill(-pid, SIGTERM);
    if (!pidfd.valid() || !wait_exit(pidfd.get(), 5000)) ::kill(-pid, SIGKILL);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  ::kill(-pid, SIGKILL);  // whatever the command left in its group goes with it
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  if (WIFEXITED(status) && !run.timed_out) run.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) run.signal = WTERMSIG(status);
  run.log_tail = tail_file(log, 20);
  return run;
}

}  // namespace agentron
