#include "launcher/rotating_log.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

namespace agentron {
namespace fs = std::filesystem;

RotatingLog::RotatingLog(fs::path path, std::uint64_t max_size, int keep)
    : path_(std::move(path)), max_size_(max_size), keep_(keep) {}

Status RotatingLog::open() {
  fd_.reset(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!fd_.valid()) return errno_error("log_open_failed", "cannot open log " + path_.string(), errno);
  struct stat st {};
  size_ = ::fstat(fd_.get(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
  return ok_status();
}

Status RotatingLog::rotate() {
  fd_.reset();
  if (keep_ == 0) {
    ::truncate(path_.c_str(), 0);
  } else {
    auto numbered = [&](int n) { return path_.string() + "." + std::to_string(n); };
    std::error_code ec;
    fs::remove(numbered(keep_), ec);
    for (int n = keep_ - 1; n >= 1; --n) fs::rename(numbered(n), numbered(n + 1), ec);
    fs::rename(path_, numbered(1), ec);
  }
  return open();
}

Status RotatingLog::write(std::string_view data) {
  while (!data.empty()) {
    std::string_view piece = data;
    if (max_size_ != 0 && size_ + data.size() > max_size_) {
      // Fill the file up to max_size, cut after the last whole line that fits, so a
      // line is split across files only when it is longer than a whole file.
      size_t room = size_ < max_size_ ? static_cast<size_t>(max_size_ - size_) : 0;
      size_t cut = data.substr(0, room).rfind('\n');
      if (cut != std::string_view::npos)
        piece = data.substr(0, cut + 1);
      else if (size_ == 0)
        piece = data.substr(0, room);
      else
        piece = {};
    }
    if (auto s = append(piece); !s) return s;
    data.remove_prefix(piece.size());
    if (!data.empty()) {
      if (auto s = rotate(); !s) return s;
    }
  }
  return ok_status();
}

Status RotatingLog::append(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd_.get(), data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("log_write_failed", "cannot write log " + path_.string(), errno);
    data.remove_prefix(static_cast<size_t>(n));
    size_ += static_cast<std::uint64_t>(n);
  }
  return ok_status();
}

int run_log_helper(int out_fd, const fs::path& out_path, int err_fd, const fs::path& err_path, std::uint64_t max_size,
                   int keep) {
  struct Stream {
    int fd;
    RotatingLog log;
    bool reported = false;
  };
  Stream streams[2] = {{out_fd, RotatingLog(out_path, max_size, keep)},
                       {err_fd, RotatingLog(err_path, max_size, keep)}};
  for (auto& s : streams) {
    if (auto status = s.log.open(); !status) {
      std::fprintf(stderr, "agentron-log: %s\n", status.error().message.c_str());
      return 1;
    }
  }
  char buffer[64 * 1024];
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  int open_streams = 2;
  while (open_streams > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) {  // EOF: every writer (the instance and its group) is gone
        fds[i].fd = -1;
        --open_streams;
        continue;
      }
      auto status = streams[i].log.write(std::string_view(buffer, static_cast<size_t>(n)));
      // Keep draining on a write error (disk full): a blocked pipe would stall the app.
      if (!status && !streams[i].reported) {
        std::fprintf(stderr, "agentron-log: %s\n", status.error().message.c_str());
        streams[i].reported = true;
      }
    }
  }
  return 0;
}

}  // namespace agentron
