#include "fork/run_command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <deque>
#include <fstream>
#include <optional>
#include <string_view>

#include "common/unique_fd.h"
#include "fork/fork_errors.h"
#include "fork/group_watchdog.h"
#include "fork/secret_scrub.h"

extern char** environ;

namespace agentron {
namespace fs = std::filesystem;

namespace {

int pidfd_open_(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// Copies what the child writes into the log, scrubbed (and to `echo`, if >= 0).
class LogPump {
 public:
  LogPump(int from, int to, int echo, const std::string& secret)
      : from_(from), to_(to), echo_(echo), scrubber_(secret) {}
  int fd() const { return from_; }
  // Reads what is there; false at end of file (or an error).
  bool pump() {
    std::array<char, 16384> buf{};
    ssize_t n = ::read(from_, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) return true;
    if (n <= 0) return false;
    write_all(scrubber_.feed(std::string_view(buf.data(), static_cast<size_t>(n))));
    return true;
  }
  // What is left once the child is gone. Descendants that left its process group may
  // still hold the pipe: only what they already wrote is taken.
  void drain() {
    ::fcntl(from_, F_SETFL, ::fcntl(from_, F_GETFL) | O_NONBLOCK);
    while (pump()) {
    }
    write_all(scrubber_.finish());
  }

 private:
  void write_all(const std::string& data) {
    write_to(to_, data);
    if (echo_ >= 0) write_to(echo_, data);
  }
  static void write_to(int fd, const std::string& data) {
    for (size_t done = 0; done < data.size();) {
      ssize_t n = ::write(fd, data.data() + done, data.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // a full disk loses log lines, not the run
      done += static_cast<size_t>(n);
    }
  }
  int from_, to_, echo_;
  StreamScrubber scrubber_;
};

// Pumps the output until the process exits (its pidfd is readable) or `ms` pass.
bool pump_until_exit(int pidfd, LogPump& pump, long long ms) {
  std::array<pollfd, 2> fds{pollfd{pidfd, POLLIN, 0}, pollfd{pump.fd(), POLLIN, 0}};
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    int rc = ::poll(fds.data(), fds.size(),
                    static_cast<int>(std::max<long long>(0, std::min<long long>(left.count(), INT32_MAX))));
    if (rc < 0 && errno != EINTR) return false;
    if (rc > 0 && (fds[1].revents & (POLLIN | POLLHUP)) && !pump.pump()) fds[1].fd = -1;  // closed: stop polling
    if (rc > 0 && (fds[0].revents & POLLIN)) return true;
    if (rc == 0) return false;
  }
}

// agentron-fork's environment minus the secret; HOME replaced when `home` is not empty.
std::vector<std::string> command_environment(const std::string& secret, const std::string& home) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    if (home.empty() || std::string_view(*e).rfind("HOME=", 0) != 0) env.emplace_back(*e);
  }
  if (!home.empty()) env.push_back("HOME=" + home);
  return environment_without(env, secret);
}

// Reaps a command that must not go on (its group is SIGKILLed first).
void kill_and_reap(pid_t pid) {
  ::kill(-pid, SIGKILL);
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

std::vector<std::string> environment_without(const std::vector<std::string>& env, const std::string& secret) {
  std::vector<std::string> kept;
  const std::string token_prefix = std::string(kTokenVariable) + "=";
  for (const auto& entry : env) {
    if (entry.rfind(token_prefix, 0) == 0) continue;
    auto eq = entry.find('=');
    if (secret.size() >= 4 && eq != std::string::npos && entry.find(secret, eq + 1) != std::string::npos) continue;
    kept.push_back(entry);
  }
  return kept;
}

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
                              Duration timeout, const std::string& secret, const CommandUser* user, int echo_fd) {
  if (argv.empty()) return Error{fork_error::bad_command, "empty command"};
  // Another user: posix_spawn cannot change credentials, and a hand-written fork/exec
  // child would redo what posix_spawn does for us (signal mask, fds, chdir, exec errors
  // reported back) with async-signal-safe calls only. So the command goes through
  // agentron-exec, as the app does: one place drops privileges (groups, gid, uid — real,
  // effective, saved — and checks the drop cannot be undone), and it reports an exec
  // failure over fd 3, a close-on-exec pipe.
  std::vector<std::string> command = argv;
  UniqueFd report, child_report;
  if (user) {
    std::array<int, 2> fds{};
    if (::pipe2(fds.data(), O_CLOEXEC) != 0) return errno_error(fork_error::spawn_failed, "pipe", errno);
    report.reset(fds[0]);
    child_report.reset(fds[1]);
    command = run_as_argv(user->exec_helper, user->who, 3, argv);
  }
  UniqueFd out(::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0640));
  if (!out.valid()) return errno_error(fork_error::log_failed, "cannot open " + log.string(), errno);
  UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  // The child writes into a pipe, not the log: its output passes the scrubber first.
  std::array<int, 2> pipe_fds{};
  if (::pipe2(pipe_fds.data(), O_CLOEXEC) != 0) return errno_error(fork_error::log_failed, "pipe", errno);
  UniqueFd output(pipe_fds[0]), child_output(pipe_fds[1]);
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_adddup2(&actions, devnull.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, child_output.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, child_output.get(), 2);
  if (user) posix_spawn_file_actions_adddup2(&actions, child_report.get(), 3);
  posix_spawn_file_actions_addclosefrom_np(&actions, user ? 4 : 3);
  posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  sigset_t empty, all;
  sigemptyset(&empty);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  for (const auto& a : command) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env = command_environment(secret, user ? user->home : "");
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  auto began = std::chrono::steady_clock::now();
  int rc = posix_spawnp(&pid, args[0], &actions, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  child_output.reset();  // the child holds the write end now: EOF when it (and its group) is done
  if (rc != 0) return errno_error(fork_error::spawn_failed, "cannot run '" + command[0] + "' in " + cwd.string(), rc);
  if (user) {
    child_report.reset();
    if (auto exec = read_exec_report(report.get()); !exec) {
      kill_and_reap(pid);
      return Error{fork_error::spawn_failed,
                   "cannot run the command as " + user->who.user + ": " + exec.error().message};
    }
  }

  // From here the group dies with agentron-fork, even if agentron-fork is killed.
  std::optional<GroupWatchdog> watchdog;
  if (auto started = GroupWatchdog::start(pid)) {
    watchdog.emplace(std::move(*started));
  } else {
    kill_and_reap(pid);
    return started.error();
  }
  UniqueFd pidfd(pidfd_open_(pid));
  LogPump pump(output.get(), out.get(), echo_fd, secret);
  CommandRun run;
  long long ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
  if (!pidfd.valid() || !pump_until_exit(pidfd.get(), pump, ms)) {
    run.timed_out = true;
    ::kill(-pid, SIGTERM);
    if (!pidfd.valid() || !pump_until_exit(pidfd.get(), pump, 5000)) ::kill(-pid, SIGKILL);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  watchdog.reset();  // whatever the command left in its group goes with it (the watchdog kept the id ours)
  pump.drain();
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  if (WIFEXITED(status) && !run.timed_out) run.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) run.signal = WTERMSIG(status);
  run.log_tail = tail_file(log, 20);
  return run;
}

}  // namespace agentron
