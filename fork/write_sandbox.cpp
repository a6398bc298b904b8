#include "fork/write_sandbox.h"

#include <fcntl.h>
#include <linux/landlock.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "common/unique_fd.h"
#include "fork/fork_errors.h"

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE  // Linux 6.2; Debian 12's headers are 6.1
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif

namespace agentron {
namespace {

constexpr int kMinimumAbi = 2;

int landlock_abi() {
  long abi = ::syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  return abi < 0 ? -errno : static_cast<int>(abi);
}

// Every right that changes the file system; reading and executing stay unhandled (allowed).
__u64 write_rights(int abi) {
  __u64 rights = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
                 LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
                 LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
                 LANDLOCK_ACCESS_FS_MAKE_SYM | LANDLOCK_ACCESS_FS_REFER;
  if (abi >= 3) rights |= LANDLOCK_ACCESS_FS_TRUNCATE;
  return rights;
}

// The child's answer on the pipe: "ok\n<value>" or "error\n<code>\n<message>".
std::string encode(const Result<std::string>& result) {
  return result ? "ok\n" + result.value() : "error\n" + result.error().code + "\n" + result.error().message;
}

Result<std::string> decode(const std::string& answer, const std::string& described_as) {
  if (answer.rfind("ok\n", 0) == 0) return answer.substr(3);
  if (answer.rfind("error\n", 0) == 0) {
    auto end = answer.find('\n', 6);
    if (end != std::string::npos) return Error{answer.substr(6, end - 6), answer.substr(end + 1)};
  }
  return Error{fork_error::sandbox_failed, "the process confined to " + described_as + " ended without an answer"};
}

void write_all(int fd, const std::string& data) {
  for (size_t done = 0; done < data.size();) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

std::string read_all(int fd) {
  std::string data;
  std::array<char, 4096> buf{};
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return data;
    data.append(buf.data(), static_cast<size_t>(n));
  }
}

}  // namespace

WriteSandbox probe_write_sandbox() {
  int abi = landlock_abi();
  if (abi < 0) return {false, std::string("not enforced: this kernel has no Landlock (") + std::strerror(-abi) + ")"};
  if (abi < kMinimumAbi) {
    return {false, "not enforced: Landlock ABI " + std::to_string(abi) + " is older than " +
                       std::to_string(kMinimumAbi) + " (Linux 5.19)"};
  }
  return {true, "Landlock ABI " + std::to_string(abi)};
}

Result<WriteSandbox> confine_writes(const std::vector<int>& dir_fds, const std::string& described_as) {
  WriteSandbox probe = probe_write_sandbox();
  if (!probe.enforced) return probe;
  int abi = landlock_abi();
  landlock_ruleset_attr ruleset{};
  ruleset.handled_access_fs = write_rights(abi);
  UniqueFd rules(static_cast<int>(::syscall(SYS_landlock_create_ruleset, &ruleset, sizeof ruleset, 0)));
  if (!rules.valid()) return errno_error(fork_error::sandbox_failed, "landlock_create_ruleset", errno);
  for (int fd : dir_fds) {
    landlock_path_beneath_attr beneath{};
    beneath.allowed_access = write_rights(abi);
    beneath.parent_fd = fd;
    if (::syscall(SYS_landlock_add_rule, rules.get(), LANDLOCK_RULE_PATH_BENEATH, &beneath, 0) != 0)
      return errno_error(fork_error::sandbox_failed, "landlock_add_rule", errno);
  }
  // Required to restrict oneself without CAP_SYS_ADMIN; agentron-fork never gains privileges anyway.
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return errno_error(fork_error::sandbox_failed, "prctl(PR_SET_NO_NEW_PRIVS)", errno);
  if (::syscall(SYS_landlock_restrict_self, rules.get(), 0) != 0)
    return errno_error(fork_error::sandbox_failed, "landlock_restrict_self", errno);
  return WriteSandbox{true, probe.description + ": writes only beneath " + described_as};
}

Result<std::string> run_confined(const std::vector<int>& dir_fds, const std::string& described_as,
                                 const std::function<Result<std::string>()>& work) {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) return errno_error(fork_error::sandbox_failed, "pipe2", errno);
  UniqueFd answer(fds[0]), child_answer(fds[1]);
  pid_t pid = ::fork();
  if (pid < 0) return errno_error(fork_error::sandbox_failed, "fork", errno);
  if (pid == 0) {
    answer.reset();
    auto confined = confine_writes(dir_fds, described_as);
    write_all(child_answer.get(), encode(confined ? work() : Result<std::string>(confined.error())));
    ::_exit(0);  // no destructors, no atexit: they belong to the parent
  }
  child_answer.reset();
  std::string text = read_all(answer.get());
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  return decode(text, described_as);
}

}  // namespace agentron
