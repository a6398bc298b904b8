// A log file that rotates by size: stdout.log → stdout.log.1 → … → stdout.log.<keep>.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>

#include "common/result.h"
#include "common/unique_fd.h"

namespace agentron {

class RotatingLog {
 public:
  // max_size 0: never rotate. keep 0: rotation truncates instead of keeping old files.
  RotatingLog(std::filesystem::path path, std::uint64_t max_size, int keep);

  Status open();
  // Appends `data`, rotating whenever the file would grow past max_size: no file
  // exceeds max_size, and lines stay whole unless one is longer than max_size.
  Status write(std::string_view data);

 private:
  Status append(std::string_view data);
  Status rotate();

  std::filesystem::path path_;
  std::uint64_t max_size_;
  int keep_;
  UniqueFd fd_;
  std::uint64_t size_ = 0;
};

// The agentron-log helper: copies each fd to its own RotatingLog until both reach
// EOF. Returns an exit code.
int run_log_helper(int out_fd, const std::filesystem::path& out_path, int err_fd, const std::filesystem::path& err_path,
                   std::uint64_t max_size, int keep);

}  // namespace agentron
