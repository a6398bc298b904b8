#include "supervisor/request_intake.h"

#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/read.hpp>
#include <cstring>
#include <vector>

#include "common/atomic_file.h"

namespace agentron {
namespace fs = std::filesystem;

namespace {

bool is_request_name(const std::string& name) {
  return name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0 && name.front() != '.';
}

char octal_digit(unsigned v) { return static_cast<char>('0' + (v & 7)); }

std::string mode_text(mode_t mode) {
  return std::string("0") + octal_digit(mode >> 6) + octal_digit(mode >> 3) + octal_digit(mode);
}

// Why a request must be refused before it is even read, or ok.
Status check_trust(const fs::path& dir, const fs::path& file) {
  struct stat d {};
  if (::stat(dir.c_str(), &d) != 0) return Error{"untrusted", "cannot stat " + dir.string()};
  if (d.st_mode & (S_IWGRP | S_IWOTH)) {
    return Error{"untrusted_folder", "the requests folder " + dir.string() + " is writable by group or others (mode " +
                                         mode_text(d.st_mode & 0777) +
                                         "): whoever can write there can make the supervisor build and run code. "
                                         "chmod 700 it, then send SIGUSR2 or write the request again"};
  }
  if (d.st_uid != ::geteuid()) {
    return Error{"untrusted_folder", "the requests folder " + dir.string() + " is owned by uid " +
                                         std::to_string(d.st_uid) + ", not the supervisor's user"};
  }
  struct stat f {};
  if (::lstat(file.c_str(), &f) != 0) return Error{"gone", "the request file vanished"};
  if (!S_ISREG(f.st_mode)) return Error{"untrusted_file", file.filename().string() + " is not a regular file"};
  if (f.st_uid != ::geteuid()) {
    return Error{"untrusted_file", file.filename().string() + " is owned by uid " + std::to_string(f.st_uid) +
                                       ", not the supervisor's user (uid " + std::to_string(::geteuid()) + ")"};
  }
  return ok_status();
}

void move_into(const fs::path& file, const fs::path& folder) {
  std::error_code ec;
  fs::create_directories(folder, ec);
  fs::rename(file, folder / file.filename(), ec);
  if (ec) fs::remove(file, ec);  // never handed over twice
}

}  // namespace

Result<std::unique_ptr<RequestIntake>> RequestIntake::open(boost::asio::io_context& io, fs::path dir, Handler handler) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) return Error{"mkdir_failed", "cannot create " + dir.string() + ": " + ec.message()};
    ::chmod(dir.c_str(), 0700);
  }
  fs::create_directories(dir / "processed", ec);
  fs::create_directories(dir / "rejected", ec);
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return errno_error("inotify_failed", "cannot watch " + dir.string(), errno);
  if (::inotify_add_watch(fd, dir.c_str(), IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
    int err = errno;
    ::close(fd);
    return errno_error("inotify_failed", "cannot watch " + dir.string(), err);
  }
  auto intake = std::unique_ptr<RequestIntake>(new RequestIntake(io, std::move(dir), fd, std::move(handler)));
  intake->watch();
  return intake;
}

RequestIntake::RequestIntake(boost::asio::io_context& io, fs::path dir, int fd, Handler handler)
    : dir_(std::move(dir)), inotify_(io, fd), handler_(std::move(handler)) {}

RequestIntake::~RequestIntake() {
  boost::system::error_code ignored;
  inotify_.close(ignored);
}

void RequestIntake::watch() {
  inotify_.async_read_some(boost::asio::buffer(buffer_), [this](const boost::system::error_code& ec, size_t n) {
    if (ec) return;  // closed
    for (size_t at = 0; at + sizeof(inotify_event) <= n;) {
      auto* event = reinterpret_cast<const inotify_event*>(buffer_.data() + at);
      if (event->len > 0 && is_request_name(event->name)) hand_over(dir_ / event->name);
      at += sizeof(inotify_event) + event->len;
    }
    watch();
  });
}

void RequestIntake::rescan() {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    if (is_request_name(entry.path().filename().string())) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) hand_over(f);
}

void RequestIntake::hand_over(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(file, ec))) return;  // already handled (an event and a rescan)
  handler_(file, check_trust(dir_, file));
}

void reject_request_file(const fs::path& file, const std::string& reason) {
  fs::path folder = file.parent_path() / "rejected";
  std::error_code ec;
  fs::create_directories(folder, ec);
  (void)write_file_atomically(folder / (file.stem().string() + ".reason"), reason + "\n", 0600);
  move_into(file, folder);
}

void archive_request_file(const fs::path& file) { move_into(file, file.parent_path() / "processed"); }

}  // namespace agentron
