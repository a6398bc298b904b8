#include "supervisor/data_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace agentron {

Result<DataDirLock> DataDirLock::acquire(const std::filesystem::path& state_dir) {
  auto path = state_dir / "supervisor.lock";
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) return errno_error("lock_failed", "cannot open " + path.string(), errno);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return errno_error("lock_failed", "cannot lock " + path.string(), errno);
    char buf[32] = {};
    ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
    std::string holder = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "unknown";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    return Error{"already_running", "another agentron-supervisor (pid " + holder + ") already supervises data dir " +
                                        state_dir.parent_path().string() +
                                        "; use `agentron-supervisor status` to reach it, or stop it first"};
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd.get(), 0) != 0 || ::pwrite(fd.get(), pid.data(), pid.size(), 0) < 0) {
    return errno_error("lock_failed", "cannot write " + path.string(), errno);
  }
  return DataDirLock(std::move(fd));
}

}  // namespace agentron
