#include "supervisor/data_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>

#include "launcher/instance_spec.h"

namespace agentron {

Result<DataDirLock> lock_data_dir(const AppConfig& app) {
  std::string holder;
  std::filesystem::path state = state_dir(app);
  auto lock = FileLock::try_acquire(state / "supervisor.lock", &holder);
  if (!lock && lock.error().code == kLockedCode) {
    return Error{"already_running", "another agentron-supervisor (pid " + holder + ") already supervises data dir " +
                                        app.data_dir.string() +
                                        "; use `agentron-supervisor status` to reach it, or stop it first"};
  }
  if (!lock) return lock.error();
  UniqueFd dir(::open(app.data_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return errno_error("lock_failed", "cannot open data dir " + app.data_dir.string(), errno);
  if (::flock(dir.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return errno_error("lock_failed", "cannot lock data dir " + app.data_dir.string(), errno);
    return Error{"already_running", "data dir " + app.data_dir.string() +
                                        " is locked by another process — another agentron-supervisor with a "
                                        "different [app] state_dir? (`fuser -v " + app.data_dir.string() +
                                        "` names it); one supervisor per data dir"};
  }
  return DataDirLock{std::move(lock.value()), std::move(dir)};
}

}  // namespace agentron
