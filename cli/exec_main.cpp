// agentron-exec: runs a program as another user. The supervisor, started as root,
// runs the app as [app] user this way: posix_spawn cannot change credentials, so it
// spawns this helper (in the app's new session, with the app's fds and environment),
// which drops to the user and execs the app in place — the app keeps the pid.
//
//   agentron-exec --uid U --gid G [--groups G1,G2,...] --report-fd N -- PROGRAM ARGS...
//
// Numeric ids only: the supervisor resolves names, so nothing here reads NSS. Exec
// failure is reported over fd N (made close-on-exec here: a successful exec closes it,
// and the supervisor reads EOF), then the helper exits 127 — the way dinit reports it.
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

int report_fd = -1;

[[noreturn]] void fail(const std::string& message) {
  std::string line = message + "\n";
  if (report_fd < 0 || ::write(report_fd, line.data(), line.size()) < 0) {
    (void)!::write(2, line.data(), line.size());
  }
  ::_exit(127);
}

long number(const char* text, const char* what) {
  char* end = nullptr;
  errno = 0;
  long value = std::strtol(text, &end, 10);
  if (errno || !*text || *end || value < 0) fail(std::string("agentron-exec: bad ") + what + " '" + text + "'");
  return value;
}

std::vector<gid_t> group_list(const std::string& text) {
  std::vector<gid_t> groups;
  size_t start = 0;
  while (start < text.size()) {
    size_t comma = text.find(',', start);
    std::string one = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    groups.push_back(static_cast<gid_t>(number(one.c_str(), "group")));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return groups;
}

}  // namespace

int main(int argc, char** argv) {
  long uid = -1, gid = -1;
  std::vector<gid_t> groups;
  int i = 1;
  for (; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") break;
    if (i + 1 >= argc) fail("agentron-exec: " + arg + " needs a value");
    const char* value = argv[++i];
    if (arg == "--uid")
      uid = number(value, "uid");
    else if (arg == "--gid")
      gid = number(value, "gid");
    else if (arg == "--groups")
      groups = group_list(value);
    else if (arg == "--report-fd")
      report_fd = static_cast<int>(number(value, "fd"));
    else
      fail("agentron-exec: unknown option " + arg);
  }
  if (report_fd >= 0) ::fcntl(report_fd, F_SETFD, FD_CLOEXEC);
  if (uid < 0 || gid < 0 || i + 1 >= argc) {
    fail("usage: agentron-exec --uid U --gid G [--groups G1,...] --report-fd N -- PROGRAM ARGS...");
  }
  // Groups first, then the group id, then the user id: after setresuid the others
  // could no longer be changed.
  if (::setgroups(groups.size(), groups.data()) != 0) fail(std::string("cannot set groups: ") + std::strerror(errno));
  if (::setresgid(gid, gid, gid) != 0) fail("cannot become gid " + std::to_string(gid) + ": " + std::strerror(errno));
  if (::setresuid(uid, uid, uid) != 0) fail("cannot become uid " + std::to_string(uid) + ": " + std::strerror(errno));
  // A drop that could be undone is no drop.
  if (uid != 0 && ::setuid(0) == 0) fail("the drop to uid " + std::to_string(uid) + " could be undone; refusing");
  char** program = argv + i + 1;
  ::execvp(program[0], program);
  fail(std::string("cannot execute '") + program[0] + "' as uid " + std::to_string(uid) + ": " + std::strerror(errno));
}
