#include "supervisor/request_intake.h"

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/read.hpp>
#include <cstring>
#include <vector>

#include "common/atomic_file.h"
#include "common/private_dir.h"
#include "common/unique_fd.h"

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

std::string owners_text(std::optional<uid_t> writer) {
  std::string me = "the supervisor's user (uid " + std::to_string(::geteuid()) + ")";
  return writer ? me + " or [app] user (uid " + std::to_string(*writer) + ")" : me;
}

bool trusted_owner(uid_t owner, std::optional<uid_t> writer) { return owner == ::geteuid() || owner == writer; }

// A name for `stem` in `folder` that nothing archived has: <stem>, else <stem>.<n>.
std::string free_stem(const fs::path& folder, const std::string& stem) {
  std::error_code ec;
  auto taken = [&](const std::string& s) {
    return fs::exists(fs::symlink_status(folder / (s + ".json"), ec)) ||
           fs::exists(fs::symlink_status(folder / (s + ".reason"), ec));
  };
  std::string name = stem;
  for (int n = 2; taken(name) && n < 10000; ++n) name = stem + "." + std::to_string(n);
  return name;
}

// Out of the incoming folder (never handed over twice), with the supervisor's own copy
// of `text` — and `reason`, if any — in `folder`. Nothing archived is replaced.
void take_into(const fs::path& file, const fs::path& folder, const std::string& text, const std::string& reason) {
  std::error_code ec;
  fs::create_directories(folder, ec);
  std::string stem = free_stem(folder, file.stem().string());
  if (!reason.empty()) (void)write_file_atomically(folder / (stem + ".reason"), reason + "\n", 0600);
  (void)write_file_atomically(folder / (stem + ".json"), text, 0600);
  ::unlink(file.c_str());
}

}  // namespace

Result<std::unique_ptr<RequestIntake>> RequestIntake::open(boost::asio::io_context& io, IntakeFolders folders,
                                                           Handler handler) {
  std::error_code ec;
  if (!fs::exists(folders.incoming, ec)) {
    if (auto s = make_dir(folders.incoming, 0700); !s) return s.error();
    if (folders.writer && ::chown(folders.incoming.c_str(), *folders.writer, static_cast<gid_t>(-1)) != 0)
      return errno_error("chown_failed", "cannot give " + folders.incoming.string() + " to [app] user", errno);
  }
  for (const char* sub : {"processed", "rejected"}) {
    if (auto s = make_dir(folders.archive / sub, 0700); !s) return s.error();
  }
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return errno_error("inotify_failed", "cannot watch " + folders.incoming.string(), errno);
  if (::inotify_add_watch(fd, folders.incoming.c_str(), IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
    int err = errno;
    ::close(fd);
    return errno_error("inotify_failed", "cannot watch " + folders.incoming.string(), err);
  }
  auto intake = std::unique_ptr<RequestIntake>(new RequestIntake(io, std::move(folders), fd, std::move(handler)));
  intake->watch();
  return intake;
}

RequestIntake::RequestIntake(boost::asio::io_context& io, IntakeFolders folders, int fd, Handler handler)
    : folders_(std::move(folders)), inotify_(io, fd), handler_(std::move(handler)) {}

RequestIntake::~RequestIntake() {
  boost::system::error_code ignored;
  inotify_.close(ignored);
}

void RequestIntake::watch() {
  inotify_.async_read_some(boost::asio::buffer(buffer_), [this](const boost::system::error_code& ec, size_t n) {
    if (ec) return;  // closed
    for (size_t at = 0; at + sizeof(inotify_event) <= n;) {
      auto* event = reinterpret_cast<const inotify_event*>(buffer_.data() + at);
      if (event->len > 0 && is_request_name(event->name)) hand_over(dir() / event->name);
      at += sizeof(inotify_event) + event->len;
    }
    watch();
  });
}

void RequestIntake::rescan() {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir(), ec)) {
    if (is_request_name(entry.path().filename().string())) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) hand_over(f);
}

void RequestIntake::hand_over(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(file, ec))) return;  // already handled (an event and a rescan)
  handler_(file, read_trusted(file));
}

// The folder and the file are checked, the file through the descriptor it is read
// from: nothing swapped in between (a symlink, a hard link to another user's file)
// is ever read.
Result<std::string> RequestIntake::read_trusted(const fs::path& file) const {
  struct stat d {};
  if (::stat(dir().c_str(), &d) != 0) return errno_error("untrusted", "cannot stat " + dir().string(), errno);
  if (d.st_mode & (S_IWGRP | S_IWOTH)) {
    return Error{"untrusted_folder", "the requests folder " + dir().string() +
                                         " is writable by group or others (mode " + mode_text(d.st_mode & 0777) +
                                         "): whoever can write there can make the supervisor build and run code. "
                                         "chmod 700 it, then send SIGUSR2 or write the request again"};
  }
  if (!trusted_owner(d.st_uid, folders_.writer)) {
    return Error{"untrusted_folder", "the requests folder " + dir().string() + " is owned by uid " +
                                         std::to_string(d.st_uid) + ", not " + owners_text(folders_.writer)};
  }
  std::string name = file.filename().string();
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ELOOP) return Error{"untrusted_file", name + " is not a regular file"};
    return errno_error("gone", "cannot open " + name, errno);
  }
  struct stat f {};
  if (::fstat(fd.get(), &f) != 0) return errno_error("gone", "cannot stat " + name, errno);
  if (!S_ISREG(f.st_mode)) return Error{"untrusted_file", name + " is not a regular file"};
  if (!trusted_owner(f.st_uid, folders_.writer)) {
    return Error{"untrusted_file",
                 name + " is owned by uid " + std::to_string(f.st_uid) + ", not " + owners_text(folders_.writer)};
  }
  if (f.st_nlink != 1)
    return Error{"untrusted_file", name + " has " + std::to_string(f.st_nlink) + " links; write a new file"};
  if (f.st_size > static_cast<off_t>(kMaxRequestBytes)) return Error{"too_large", name + " is larger than 64 KiB"};
  std::string text(kMaxRequestBytes + 1, '\0');
  size_t got = 0;
  while (got < text.size()) {
    ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("unreadable", "cannot read " + name, errno);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  if (got > kMaxRequestBytes) return Error{"too_large", name + " is larger than 64 KiB"};
  text.resize(got);
  return text;
}

void RequestIntake::reject(const fs::path& file, const std::string& reason, const std::string& text) const {
  take_into(file, folders_.archive / "rejected", text, reason);
}

void RequestIntake::archive(const fs::path& file, const std::string& text) const {
  take_into(file, folders_.archive / "processed", text, "");
}

bool RequestIntake::seen(const std::string& id) const {
  std::error_code ec;
  for (const char* sub : {"processed", "rejected"}) {
    if (fs::exists(fs::symlink_status(folders_.archive / sub / (id + ".json"), ec))) return true;
  }
  return false;
}

void RequestIntake::reject_archived(const std::string& id, const std::string& reason) const {
  fs::path processed = folders_.archive / "processed" / (id + ".json");
  fs::path rejected = folders_.archive / "rejected";
  std::error_code ec;
  if (!fs::exists(processed, ec)) return;
  fs::create_directories(rejected, ec);
  fs::rename(processed, rejected / processed.filename(), ec);  // the supervisor's own copy
  (void)write_file_atomically(rejected / (id + ".reason"), reason + "\n", 0600);
}

}  // namespace agentron
