#include "common/private_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

#include "common/unique_fd.h"

namespace agentron {
namespace fs = std::filesystem;

namespace {

std::string octal(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

Error unsafe(const fs::path& dir, const std::string& why, const std::string& fix) {
  return Error{"unsafe_dir",
               dir.string() + " " + why + ": another user could replace the supervisor's state in it. " + fix};
}

}  // namespace

Status make_dir(const fs::path& dir, mode_t mode) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error{"mkdir_failed", "cannot create " + dir.string() + ": " + ec.message()};
  // By descriptor, without following a symlink: a chmod must never land elsewhere.
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return errno_error("mkdir_failed", "cannot open " + dir.string() + " (a symlink?)", errno);
  if (::fchmod(fd.get(), mode) != 0) return errno_error("mkdir_failed", "cannot chmod " + dir.string(), errno);
  return ok_status();
}

Status check_private_dir(const fs::path& dir) {
  uid_t me = ::geteuid();
  fs::path path = fs::absolute(dir).lexically_normal();
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return errno_error("unsafe_dir", "cannot check " + path.string(), errno);
  if (!S_ISDIR(st.st_mode)) return unsafe(path, "is not a folder (a symlink?)", "Make it a real folder.");
  if (st.st_uid != me) {
    return unsafe(
        path, "is owned by uid " + std::to_string(st.st_uid) + ", not the supervisor's (" + std::to_string(me) + ")",
        "chown it to the supervisor's user, or choose another folder.");
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return unsafe(path, "is writable by group or others (mode " + octal(st.st_mode) + ")", "chmod go-w it.");
  for (fs::path up = path.parent_path(); !up.empty(); up = up.parent_path()) {
    if (::stat(up.c_str(), &st) != 0) return errno_error("unsafe_dir", "cannot check " + up.string(), errno);
    if (st.st_uid != 0 && st.st_uid != me) {
      return unsafe(up, "(above " + path.string() + ") is owned by uid " + std::to_string(st.st_uid),
                    "Put the folder somewhere only root or the supervisor's user owns, e.g. /var/lib.");
    }
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
      return unsafe(up, "(above " + path.string() + ") is writable by group or others (mode " + octal(st.st_mode) + ")",
                    "chmod go-w it, or put the folder elsewhere.");
    }
    if (up == up.root_path()) break;
  }
  return ok_status();
}

Status make_private_dir(const fs::path& dir, mode_t mode) {
  if (auto s = make_dir(dir, mode); !s) return s;
  return check_private_dir(dir);
}

}  // namespace agentron
