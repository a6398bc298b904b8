#include "supervisor/data_dir_lock.h"

namespace agentron {

Result<FileLock> lock_data_dir(const std::filesystem::path& state_dir) {
  std::string holder;
  auto lock = FileLock::try_acquire(state_dir / "supervisor.lock", &holder);
  if (!lock && lock.error().code == kLockedCode) {
    return Error{"already_running", "another agentron-supervisor (pid " + holder + ") already supervises data dir " +
                                        state_dir.parent_path().string() +
                                        "; use `agentron-supervisor status` to reach it, or stop it first"};
  }
  return lock;
}

}  // namespace agentron
