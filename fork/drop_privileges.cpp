#include "fork/drop_privileges.h"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "fork/fork_errors.h"
#include "fork/self_protection.h"

namespace agentron {
namespace fs = std::filesystem;

namespace {

Error drop_error(const RunAs& who, const std::string& why) {
  return Error{fork_error::drop_failed, "cannot work as [app] user '" + who.user + "' (uid " + std::to_string(who.uid) +
                                            "): " + why + "; nothing was done"};
}

Error drop_errno(const RunAs& who, const std::string& call) {
  return drop_error(who, call + ": " + std::strerror(errno));
}

// fs.suid_dumpable: what the kernel sets a process's dumpable flag to when its
// credentials change. 1 makes it dumpable — readable and traceable by its new user.
std::string suid_dumpable() {
  std::ifstream in("/proc/sys/fs/suid_dumpable");
  std::string value;
  in >> value;
  return value;
}

bool any_capability_left() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (::syscall(SYS_capget, &header, data) != 0) return true;  // cannot tell: assume the worst
  return std::any_of(std::begin(data), std::end(data),
                     [](const auto& d) { return d.effective || d.permitted || d.inheritable; });
}

bool same_groups(std::vector<gid_t> a, std::vector<gid_t> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  a.erase(std::unique(a.begin(), a.end()), a.end());
  b.erase(std::unique(b.begin(), b.end()), b.end());
  return a == b;
}

// After the switch: exactly `who`'s ids, and no way back to root.
Status check_dropped(const RunAs& who) {
  uid_t ruid = 0, euid = 0, suid = 0;
  gid_t rgid = 0, egid = 0, sgid = 0;
  if (::getresuid(&ruid, &euid, &suid) != 0 || ruid != who.uid || euid != who.uid || suid != who.uid)
    return drop_error(who, "its user ids are not the user's after setresuid");
  if (::getresgid(&rgid, &egid, &sgid) != 0 || rgid != who.gid || egid != who.gid || sgid != who.gid)
    return drop_error(who, "its group ids are not the user's after setresgid");
  std::vector<gid_t> groups(static_cast<size_t>(std::max(::getgroups(0, nullptr), 0)));
  if (::getgroups(static_cast<int>(groups.size()), groups.data()) < 0 || !same_groups(groups, who.groups))
    return drop_error(who, "its supplementary groups are not the user's after setgroups");
  // A drop that could be undone is no drop.
  if (::setuid(0) == 0 || ::setgid(0) == 0) return drop_error(who, "it could become root again");
  if (any_capability_left()) return drop_error(who, "it kept a capability");
  return ok_status();
}

}  // namespace

std::string existing_home(uid_t uid) {
  std::vector<char> buffer(16 * 1024);
  passwd pw{};
  passwd* found = nullptr;
  if (::getpwuid_r(uid, &pw, buffer.data(), buffer.size(), &found) != 0 || !found || !pw.pw_dir) return "";
  std::error_code ec;
  return fs::is_directory(pw.pw_dir, ec) ? pw.pw_dir : "";
}

Result<std::optional<RunAs>> workspace_verb_user(const std::string& verb, const std::string& user,
                                                 const std::string& group) {
  if (verb == "release" || user.empty() || ::geteuid() != 0) return std::optional<RunAs>();
  auto who = resolve_run_as(user, group);
  if (!who) {
    return Error{fork_error::drop_failed,
                 "cannot work as [app] user '" + user + "': " + who.error().message + "; nothing was done"};
  }
  if (who->uid == 0) return std::optional<RunAs>();
  return std::optional<RunAs>(std::move(*who));
}

Result<std::string> drop_to(const RunAs& who) {
  if (suid_dumpable() == "1") {
    return drop_error(who,
                      "fs.suid_dumpable is 1, so the kernel would make this process — which holds the token — "
                      "readable and traceable by that user the moment it switches. Set it to 0 (the default) or 2: "
                      "`sysctl fs.suid_dumpable=0`");
  }
  // Looked up as root, before the switch: NSS may read files the user cannot.
  std::string home = existing_home(who.uid);
  // Groups first, then the group id, then the user id: after setresuid the others
  // could no longer be changed (as agentron-exec does for the app).
  if (::setgroups(who.groups.size(), who.groups.data()) != 0) return drop_errno(who, "setgroups");
  if (::setresgid(who.gid, who.gid, who.gid) != 0) return drop_errno(who, "setresgid");
  if (::setresuid(who.uid, who.uid, who.uid) != 0) return drop_errno(who, "setresuid");
  if (auto s = check_dropped(who); !s) return s.error();
  // The kernel set the dumpable flag to fs.suid_dumpable when the ids changed (0 by
  // default; 2 — root-only — is as closed to the user). Set 0 again rather than trust
  // the sysctl, and check: this is what keeps the token in memory from the user.
  if (auto s = make_undumpable(); !s) return drop_error(who, s.error().message);
  if (::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) return drop_error(who, "it is still dumpable");
  if (!home.empty() && ::setenv("HOME", home.c_str(), 1) != 0) return drop_errno(who, "setenv HOME");
  return home;
}

}  // namespace agentron
