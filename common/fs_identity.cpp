#include "common/fs_identity.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace agentron {
namespace {

// The raw syscalls: glibc's setgroups() changes every thread, these only this one.
long thread_setfsuid(uid_t uid) { return ::syscall(SYS_setfsuid, uid); }
long thread_setfsgid(gid_t gid) { return ::syscall(SYS_setfsgid, gid); }
long thread_setgroups(const std::vector<gid_t>& groups) {
  return ::syscall(SYS_setgroups, groups.size(), groups.empty() ? nullptr : groups.data());
}
std::vector<gid_t> thread_groups() {
  long n = ::syscall(SYS_getgroups, 0, nullptr);
  std::vector<gid_t> groups(n > 0 ? static_cast<size_t>(n) : 0);
  if (n > 0) n = ::syscall(SYS_getgroups, groups.size(), groups.data());
  groups.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return groups;
}
uid_t current_fsuid() { return static_cast<uid_t>(thread_setfsuid(static_cast<uid_t>(-1))); }
gid_t current_fsgid() { return static_cast<gid_t>(thread_setfsgid(static_cast<gid_t>(-1))); }

}  // namespace

ActingAs::ActingAs(const FsIdentity* who) {
  if (!who) return;
  old_uid_ = current_fsuid();
  old_gid_ = current_fsgid();
  if (old_uid_ == who->uid && old_gid_ == who->gid) return;  // already that user
  old_groups_ = thread_groups();
  switched_ = true;
  // setfsuid reports no error: each change is read back.
  if (thread_setgroups(who->groups) != 0) {
    status_ = errno_error("acting_as_failed", "cannot take the groups of uid " + std::to_string(who->uid), errno);
  } else {
    thread_setfsgid(who->gid);
    thread_setfsuid(who->uid);
    if (current_fsgid() != who->gid || current_fsuid() != who->uid)
      status_ = Error{"acting_as_failed", "cannot act as uid " + std::to_string(who->uid) + " (not root?)"};
  }
  if (!status_.ok()) restore();
}

ActingAs::~ActingAs() { restore(); }

void ActingAs::restore() {
  if (!switched_) return;
  switched_ = false;
  thread_setfsuid(old_uid_);
  thread_setfsgid(old_gid_);
  thread_setgroups(old_groups_);
}

}  // namespace agentron
