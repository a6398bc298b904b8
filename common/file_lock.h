// An exclusive flock on a file that also names its holder's pid. Released by the
// kernel when the holder exits or dies: there is never a stale lock to clean up.
#pragma once

#include <filesystem>

#include "common/result.h"
#include "common/unique_fd.h"

namespace agentron {

class FileLock {
 public:
  // Fails at once with code "locked" and the holder's pid in `holder` if taken.
  static Result<FileLock> try_acquire(const std::filesystem::path& path, std::string* holder = nullptr);

  FileLock(FileLock&&) = default;
  FileLock& operator=(FileLock&&) = default;

 private:
  explicit FileLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace agentron
