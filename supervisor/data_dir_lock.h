// One supervisor per data dir: an exclusive flock on <data_dir>/.supervisor/supervisor.lock,
// held for the supervisor's life and released by the kernel when it dies, so a crashed
// supervisor never leaves a stale lock behind.
#pragma once

#include <filesystem>

#include "common/result.h"
#include "launcher/unique_fd.h"

namespace agentron {

class DataDirLock {
 public:
  // Fails with a message naming the holder's pid if another supervisor has the lock.
  static Result<DataDirLock> acquire(const std::filesystem::path& state_dir);

  DataDirLock(DataDirLock&&) = default;
  DataDirLock& operator=(DataDirLock&&) = default;

 private:
  explicit DataDirLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace agentron
