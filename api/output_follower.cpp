#include "api/output_follower.h"

#include <fcntl.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>

namespace agentron {

namespace {
constexpr size_t kMaxLine = 4096;
}

Result<std::unique_ptr<OutputFollower>> OutputFollower::follow(boost::asio::io_context& io,
                                                               const std::filesystem::path& file, OnLines on_lines) {
  UniqueFd in(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!in.valid()) return errno_error("follow_failed", "cannot open " + file.string(), errno);
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return errno_error("follow_failed", "cannot watch " + file.string(), errno);
  if (::inotify_add_watch(fd, file.c_str(), IN_MODIFY) < 0) {
    int err = errno;
    ::close(fd);
    return errno_error("follow_failed", "cannot watch " + file.string(), err);
  }
  std::unique_ptr<OutputFollower> follower(new OutputFollower(io, fd, std::move(in), std::move(on_lines)));
  follower->read_new(false);  // what is there already (after the watch: nothing falls in between)
  follower->watch();
  return follower;
}

OutputFollower::OutputFollower(boost::asio::io_context& io, int inotify_fd, UniqueFd file, OnLines on_lines)
    : inotify_(io, inotify_fd), file_(std::move(file)), on_lines_(std::move(on_lines)) {}

OutputFollower::~OutputFollower() {
  boost::system::error_code ignored;
  inotify_.close(ignored);
}

void OutputFollower::watch() {
  inotify_.async_read_some(boost::asio::buffer(events_), [this](const boost::system::error_code& ec, size_t) {
    if (ec) return;  // closed: this may be gone
    read_new(false);
    watch();
  });
}

void OutputFollower::flush() { read_new(true); }

void OutputFollower::read_new(bool with_partial) {
  std::array<char, 16384> buf{};
  std::vector<std::string> lines;
  for (;;) {
    ssize_t n = ::read(file_.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; ++i) {
      char c = buf[static_cast<size_t>(i)];
      if (c == '\n' || partial_.size() >= kMaxLine) {
        lines.push_back(std::exchange(partial_, {}));
        if (c == '\n') continue;
      }
      partial_ += c;
    }
  }
  if (with_partial && !partial_.empty()) lines.push_back(std::exchange(partial_, {}));
  if (!lines.empty()) on_lines_(std::move(lines));
}

}  // namespace agentron
