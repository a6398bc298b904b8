// An exclusive flock on a file that also names its holder's pid. Released by the
// kernel when the holder exits or dies: there is never a stale lock to clean up.
#pragma once

#include <filesystem>

#include "common/result.h"
#include "common/unique_fd.h"

namespace agentron {

// The error code of a lock another process holds.
inline constexpr const char* kLockedCode = "locked";

class FileLock {
 public:
  // Fails at once with code kLockedCode and the holder's pid in `holder` if taken.
  static Result<FileLock> try_acquire(const std::filesystem::path& path, std::string* holder = nullptr);

  FileLock(FileLock&&) = default;
  FileLock& operator=(FileLock&&) = default;

 private:
  explicit FileLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace agentron
