#include "launcher/posix_spawner.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstring>
#include <vector>

#include "common/unique_fd.h"
#include "config/config.h"  // signal_name
#include "launcher/instance_spec.h"
#include "launcher/run_as.h"

namespace agentron {
namespace {

namespace fs = std::filesystem;

// Owns posix_spawn's attribute and file-action objects.
class SpawnSetup {
 public:
  SpawnSetup() {
    posix_spawnattr_init(&attr_);
    posix_spawn_file_actions_init(&actions_);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions_);
    posix_spawnattr_destroy(&attr_);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;

  // New session (so the child leads its own process group and has no terminal), an
  // empty signal mask and default dispositions: a child must not inherit the
  // supervisor's blocked or ignored signals, or it may never see SIGTERM.
  void new_session_with_clean_signals() {
    sigset_t empty, all;
    sigemptyset(&empty);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr_, &empty);
    posix_spawnattr_setsigdefault(&attr_, &all);
    posix_spawnattr_setflags(&attr_, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  }

  // The child gets sources[i] as fd i, and nothing else.
  // REQUIRES: no source is 0, 1 or 2 unless it is its own target (the supervisor
  // keeps its standard fds open, so pipes and files never land there).
  void fds(std::initializer_list<int> sources) {
    int target = 0;
    // dup2 onto itself clears FD_CLOEXEC in posix_spawn (glibc >= 2.29, POSIX 2017).
    for (int source : sources) posix_spawn_file_actions_adddup2(&actions_, source, target++);
    // Nothing else leaks into the child: not the lock, not the control socket.
    posix_spawn_file_actions_addclosefrom_np(&actions_, target);
  }

  void chdir(const fs::path& dir) { posix_spawn_file_actions_addchdir_np(&actions_, dir.c_str()); }

  // glibc's posix_spawn reports exec and chdir failures as its return value (it
  // vforks and waits for the exec), so the error is known before we return.
  Result<pid_t> run(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
    std::vector<char*> cargv, cenv;
    for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    for (const auto& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
    cenv.push_back(nullptr);
    pid_t pid = -1;
    int rc = posix_spawnp(&pid, cargv[0], &actions_, &attr_, cargv.data(), cenv.data());
    if (rc != 0) return errno_error("spawn_failed", "cannot execute '" + argv[0] + "'", rc);
    return pid;
  }

 private:
  posix_spawnattr_t attr_;
  posix_spawn_file_actions_t actions_;
};

struct Pipe {
  UniqueFd read, write;
};

Result<Pipe> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return errno_error("spawn_failed", "pipe2", errno);
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

ExitStatus to_exit_status(const siginfo_t& info) {
  if (info.si_code == CLD_EXITED) return ExitStatus::exited(info.si_status);
  return ExitStatus::killed(info.si_status);
}

class PosixProcess : public Process {
 public:
  PosixProcess(pid_t pid, ChildReaper& reaper, ProcessObserver& observer)
      : pid_(pid), reaper_(reaper), observer_(observer) {
    reaper_.watch(pid_, [this](ExitStatus status) { on_leader_exit(status); });
  }
  // Does not stop the process: an instance outlives a supervisor that goes away.
  ~PosixProcess() override {
    reaper_.unwatch(pid_);
    if (drain_check_) reaper_.remove_check(drain_check_);
  }

  pid_t pid() const override { return pid_; }

  void signal_group(int signo) override {
    // The leader's pid is the group id. While any member lives the id cannot be
    // reused, and once the group is seen empty it is never signalled again.
    if (!group_empty_) ::kill(-pid_, signo);
  }

 private:
  void on_leader_exit(ExitStatus status) {
    group_empty_ = group_is_empty();
    if (!group_empty_) {
      // Members left behind are reparented to the supervisor (a child subreaper), so
      // each one's death is a SIGCHLD and a reaping round: look after every round.
      drain_check_ = reaper_.add_check([this] {
        if (!group_is_empty()) return false;
        group_empty_ = true;
        drain_check_ = 0;
        observer_.on_group_empty();
        return true;
      });
    }
    observer_.on_leader_exit(status, group_empty_);
  }

  bool group_is_empty() const { return ::kill(-pid_, 0) != 0 && errno == ESRCH; }

  pid_t pid_;
  ChildReaper& reaper_;
  ProcessObserver& observer_;
  bool group_empty_ = false;
  int drain_check_ = 0;
};

}  // namespace

std::string ExitStatus::describe() const {
  if (unknown) return "ended (exit status unknown: adopted from an earlier supervisor)";
  if (signaled) return "killed by " + signal_name(signal);
  return "exit code " + std::to_string(code);
}

ChildReaper::ChildReaper(boost::asio::io_context& io) : sigchld_(io, SIGCHLD) {
  // Orphaned grandchildren come to us rather than to init, so a stop can wait for
  // (and reap) every process of an instance's group.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  arm();
}

void ChildReaper::arm() {
  sigchld_.async_wait([this](const boost::system::error_code& ec, int) {
    if (ec) return;
    reap();
    arm();
  });
}

void ChildReaper::watch(pid_t pid, std::function<void(ExitStatus)> on_exit) { watched_[pid] = std::move(on_exit); }
void ChildReaper::unwatch(pid_t pid) { watched_.erase(pid); }

int ChildReaper::add_check(std::function<bool()> check) {
  checks_[next_check_id_] = std::move(check);
  return next_check_id_++;
}
void ChildReaper::remove_check(int id) { checks_.erase(id); }

void ChildReaper::reap() {
  // SIGCHLD coalesces: one signal may stand for many exits, so reap until none is left.
  for (;;) {
    siginfo_t info{};
    if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG) != 0 || info.si_pid == 0) break;
    auto it = watched_.find(info.si_pid);
    if (it == watched_.end()) continue;  // a log helper or an orphaned grandchild
    auto on_exit = std::move(it->second);
    watched_.erase(it);
    on_exit(to_exit_status(info));
  }
  // A check may add or remove checks (its observer reacts), so walk a snapshot of ids.
  std::vector<int> ids;
  for (const auto& entry : checks_) ids.push_back(entry.first);
  for (int id : ids) {
    auto it = checks_.find(id);
    if (it == checks_.end()) continue;
    auto check = it->second;
    if (check()) checks_.erase(id);
  }
}

PosixSpawner::PosixSpawner(ChildReaper& reaper, fs::path log_helper)
    : reaper_(reaper), log_helper_(std::move(log_helper)), exec_helper_(log_helper_.parent_path() / "agentron-exec") {}

namespace {

// Starts the agentron-log helper that drains the instance's stdout (its fd 0) and
// stderr (its fd 3) into rotated files. It has its own session, so it outlives both
// the group signal of a stop and the supervisor, and writes the instance's last words
// before it exits on EOF.
Result<pid_t> spawn_log_helper(const fs::path& helper, int out, int err, const SpawnSpec& spec, int devnull) {
  SpawnSetup setup;
  setup.new_session_with_clean_signals();
  setup.fds({out, devnull, STDERR_FILENO, err});  // its own complaints go where ours do
  return setup.run({helper.string(), "--max-size", std::to_string(spec.log_max_size), "--keep",
                    std::to_string(spec.log_keep), spec.stdout_log.string(), spec.stderr_log.string()},
                   {});
}

}  // namespace

Result<std::unique_ptr<Process>> PosixSpawner::spawn(const SpawnSpec& spec, ProcessObserver& observer) {
  if (spec.argv.empty()) return Error{"spawn_failed", "empty command"};
  struct stat st {};
  if (::stat(spec.working_dir.c_str(), &st) != 0) {
    return errno_error("spawn_failed", "cannot enter working directory '" + spec.working_dir.string() + "'", errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    return Error{"spawn_failed", "working directory '" + spec.working_dir.string() + "' is not a directory"};
  }
  UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!devnull.valid()) return errno_error("spawn_failed", "open /dev/null", errno);
  auto out = make_pipe();
  if (!out) return out.error();
  auto err = make_pipe();
  if (!err) return err.error();

  // [app] user: agentron-exec drops to the user and execs the app in place; why an
  // exec failed comes back on fd 3 (a close-on-exec pipe: EOF means it exec'd).
  std::optional<RunAs> run_as;
  std::optional<Pipe> report;
  std::vector<std::string> argv = spec.argv;
  if (!spec.run_as_user.empty()) {
    auto who = resolve_run_as(spec.run_as_user, spec.run_as_group);
    if (!who) return Error{"spawn_failed", who.error().message};
    if (auto can = check_can_run_as(*who); !can) return Error{"spawn_failed", can.error().message};
    auto pipe = make_pipe();
    if (!pipe) return pipe.error();
    report = std::move(*pipe);
    argv = run_as_argv(exec_helper_, *who, 3, spec.argv);
  }

  // The app first: its exec is what a restart waits for. Until the helper runs, its
  // output waits in the pipes.
  SpawnSetup setup;
  setup.new_session_with_clean_signals();
  if (report)
    setup.fds({devnull.get(), out->write.get(), err->write.get(), report->write.get()});
  else
    setup.fds({devnull.get(), out->write.get(), err->write.get()});
  setup.chdir(spec.working_dir);
  auto pid = setup.run(argv, spec.env);
  if (!pid) return pid.error();  // our pipe ends close on return; nothing else started
  if (report) {
    report->write.reset();
    if (auto exec = read_exec_report(report->read.get()); !exec) {
      ::kill(-*pid, SIGKILL);  // agentron-exec exits by itself; the reaper collects it
      return exec.error();
    }
  }
  out->write.reset();  // only the app writes: the helper must see EOF when the app's group is gone
  err->write.reset();

  auto helper = spawn_log_helper(log_helper_, out->read.get(), err->read.get(), spec, devnull.get());
  if (!helper) {
    // An app nobody reads would block on a full pipe: do not leave it running.
    ::kill(-*pid, SIGKILL);
    return Error{"spawn_failed", "cannot start the log helper: " + helper.error().message};
  }
  return std::unique_ptr<Process>(std::make_unique<PosixProcess>(*pid, reaper_, observer));
}

namespace {

// A process group an earlier supervisor started: its leader's exit shows on a pidfd
// (readable when it terminates, child or not); what is left of its group is looked
// for every 100 ms until it is gone (its orphans are not our children either).
class AdoptedProcess : public Process {
 public:
  AdoptedProcess(boost::asio::any_io_executor ex, pid_t pid, int pidfd, ProcessObserver& observer)
      : pid_(pid), pidfd_(ex, pidfd), timer_(ex), observer_(observer) {
    pidfd_.async_wait(boost::asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
      if (ec) return;  // destroyed
      bool empty = group_is_empty();
      if (!empty) watch_group();
      observer_.on_leader_exit(ExitStatus::not_known(), empty);
    });
  }
  ~AdoptedProcess() override {
    boost::system::error_code ignored;
    timer_.cancel();
    pidfd_.close(ignored);
  }
  pid_t pid() const override { return pid_; }
  void signal_group(int signo) override {
    if (!group_empty_) ::kill(-pid_, signo);
  }

 private:
  bool group_is_empty() {
    group_empty_ = ::kill(-pid_, 0) != 0 && errno == ESRCH;
    return group_empty_;
  }
  void watch_group() {
    timer_.expires_after(std::chrono::milliseconds(100));
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      if (group_is_empty()) return observer_.on_group_empty();
      watch_group();
    });
  }

  pid_t pid_;
  boost::asio::posix::stream_descriptor pidfd_;
  boost::asio::steady_timer timer_;
  ProcessObserver& observer_;
  bool group_empty_ = false;
};

}  // namespace

Result<std::unique_ptr<Process>> PosixSpawner::adopt(pid_t pid, ProcessObserver& observer) {
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return errno_error("adopt_failed", "cannot watch pid " + std::to_string(pid), errno);
  return std::unique_ptr<Process>(std::make_unique<AdoptedProcess>(reaper_.executor(), pid, fd, observer));
}

Result<pid_t> spawn_command(ChildReaper& reaper, const std::vector<std::string>& argv, const fs::path& cwd,
                            const fs::path& stdout_file, const fs::path& stderr_file,
                            std::function<void(ExitStatus)> on_exit) {
  UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  UniqueFd out(::open(stdout_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!out.valid()) return errno_error("spawn_failed", "cannot create " + stdout_file.string(), errno);
  UniqueFd err(::open(stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!err.valid()) return errno_error("spawn_failed", "cannot create " + stderr_file.string(), errno);
  SpawnSetup setup;
  setup.new_session_with_clean_signals();
  setup.fds({devnull.get(), out.get(), err.get()});
  setup.chdir(cwd);
  auto pid = setup.run(argv, current_environment());
  if (!pid) return pid.error();
  reaper.watch(*pid, std::move(on_exit));
  return *pid;
}

fs::path executable_dir() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path(".") : self.parent_path();
}

}  // namespace agentron
