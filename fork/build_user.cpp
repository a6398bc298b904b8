#include "fork/build_user.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "common/unique_fd.h"
#include "fork/drop_privileges.h"  // existing_home
#include "fork/fork_errors.h"
#include "launcher/posix_spawner.h"  // executable_dir

namespace agentron {
namespace fs = std::filesystem;

namespace {

std::string described(const struct stat& st) {
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  return "owner uid " + std::to_string(st.st_uid) + ", group " + std::to_string(st.st_gid) + ", mode " + mode;
}

Error unreachable_error(const std::string& what) {
  return Error{fork_error::releases_dir_unsafe,
               what +
                   "; nothing was built. As root, make releases_dir and the folders above it root's and "
                   "not writable by the app's user (`chown root:root DIR && chmod 0755 DIR`), or set [fork] "
                   "releases_dir to such a folder, e.g. /var/lib/agentron-supervisor/releases"};
}

}  // namespace

Result<std::optional<CommandUser>> release_build_user(const std::string& user, const std::string& group) {
  if (user.empty()) return std::optional<CommandUser>();
  auto who = resolve_run_as(user, group);
  if (!who) return who.error();
  if (::geteuid() == who->uid) return std::optional<CommandUser>();
  if (::geteuid() != 0) {
    return Error{fork_error::needs_root,
                 "release as root: with [app] user = \"" + who->user + "\" the build runs as " + who->user +
                     " and the release is sealed root-owned, which needs root; this agentron-fork runs as uid " +
                     std::to_string(::geteuid()) + ". Run it as root (the supervisor does when started as root), " +
                     "or as " + who->user + " (then the release is that user's, not sealed)"};
  }
  fs::path helper = executable_dir() / "agentron-exec";
  if (::access(helper.c_str(), X_OK) != 0) {
    return errno_error(
        fork_error::spawn_failed,
        "the build would run as " + who->user + " through " + helper.string() + ", installed beside agentron-fork",
        errno);
  }
  uid_t uid = who->uid;
  return std::optional<CommandUser>(CommandUser{std::move(*who), helper, existing_home(uid)});
}

bool may_write(const struct stat& st, const RunAs& who) {
  if (st.st_uid == who.uid) return true;  // its owner may chmod it
  if (st.st_mode & S_IWOTH) return true;
  if (!(st.st_mode & S_IWGRP)) return false;
  if (st.st_gid == who.gid) return true;
  for (gid_t g : who.groups) {
    if (g == st.st_gid) return true;
  }
  return false;
}

Status check_out_of_reach(int dir, const fs::path& real_path, const RunAs& who) {
  struct stat st {};
  if (::fstat(dir, &st) != 0) return errno_error(fork_error::releases_dir_unsafe, "cannot stat releases_dir", errno);
  if (may_write(st, who)) {
    return unreachable_error("releases_dir " + real_path.string() + " (" + described(st) + ") is writable by " +
                             who.user + ", the app's user, who could then change a release after it is sealed");
  }
  struct stat child = st;
  for (fs::path parent = real_path.parent_path();; parent = parent.parent_path()) {
    struct stat up {};
    if (::lstat(parent.c_str(), &up) != 0)
      return errno_error(fork_error::releases_dir_unsafe, "cannot stat " + parent.string(), errno);
    // In a sticky folder only an entry's owner (or the folder's) may rename it.
    bool sticky_guards = (up.st_mode & S_ISVTX) && up.st_uid != who.uid && child.st_uid != who.uid;
    if (may_write(up, who) && !sticky_guards) {
      return unreachable_error("releases_dir " + real_path.string() + " lies in " + parent.string() + " (" +
                               described(up) + "), writable by " + who.user +
                               ", the app's user, who could move it away and put a folder of its own in its place");
    }
    if (parent == parent.root_path()) return ok_status();
    child = up;
  }
}

namespace {

// Gives everything below the folder open as `dir` to `who`, through descriptors: each
// entry by fchownat(AT_SYMLINK_NOFOLLOW) in its folder's descriptor, each folder
// entered by openat(O_NOFOLLOW | O_DIRECTORY). Nothing is resolved by path, so a
// folder swapped for a symlink is never followed (the red team's chown race).
Status give_below(int dir, const std::string& shown, const RunAs& who, int depth) {
  if (depth > 256) return Error{fork_error::spawn_failed, shown + " is nested too deep"};
  int listing = ::dup(dir);
  DIR* stream = listing >= 0 ? ::fdopendir(listing) : nullptr;
  if (!stream) {
    if (listing >= 0) ::close(listing);
    return errno_error(fork_error::spawn_failed, "cannot list " + shown, errno);
  }
  std::vector<std::string> names;
  while (dirent* entry = ::readdir(stream)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  ::closedir(stream);
  for (const auto& name : names) {
    UniqueFd sub(::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (sub.valid()) {
      if (auto s = give_below(sub.get(), shown + "/" + name, who, depth + 1); !s) return s;
    }
    if (::fchownat(dir, name.c_str(), who.uid, who.gid, AT_SYMLINK_NOFOLLOW) != 0)
      return errno_error(fork_error::spawn_failed, "cannot give " + shown + "/" + name + " to " + who.user, errno);
  }
  return ok_status();
}

}  // namespace

// The top folder goes last: until then it is root's (mkdtemp: 0700), so the build's
// user cannot enter it — let alone swap anything in it — while the walk runs.
Status give_tree_to(const fs::path& dir, const RunAs& who) {
  UniqueFd top(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!top.valid()) return errno_error(fork_error::spawn_failed, "cannot open " + dir.string(), errno);
  if (auto s = give_below(top.get(), dir.string(), who, 0); !s) return s;
  if (::fchown(top.get(), who.uid, who.gid) != 0)
    return errno_error(fork_error::spawn_failed, "cannot give " + dir.string() + " to " + who.user, errno);
  return ok_status();
}

}  // namespace agentron
