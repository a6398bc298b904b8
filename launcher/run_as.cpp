#include "launcher/run_as.h"

#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace agentron {
namespace {

std::optional<unsigned long> as_number(const std::string& text) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::strtoul(text.c_str(), nullptr, 10);
}

Result<gid_t> resolve_group(const std::string& group) {
  std::vector<char> buffer(16 * 1024);
  ::group gr{};
  ::group* found = nullptr;
  auto number = as_number(group);
  int rc = number ? ::getgrgid_r(static_cast<gid_t>(*number), &gr, buffer.data(), buffer.size(), &found)
                  : ::getgrnam_r(group.c_str(), &gr, buffer.data(), buffer.size(), &found);
  if (rc != 0 || !found) {
    return Error{"no_such_group", "[app] group '" + group + "': no such group on this machine"};
  }
  return gr.gr_gid;
}

}  // namespace

Result<RunAs> resolve_run_as(const std::string& user, const std::string& group) {
  std::vector<char> buffer(16 * 1024);
  passwd pw{};
  passwd* found = nullptr;
  auto number = as_number(user);
  int rc = number ? ::getpwuid_r(static_cast<uid_t>(*number), &pw, buffer.data(), buffer.size(), &found)
                  : ::getpwnam_r(user.c_str(), &pw, buffer.data(), buffer.size(), &found);
  if (rc != 0 || !found) {
    return Error{"no_such_user", "[app] user '" + user + "': no such user on this machine (create one, e.g. " +
                                     "`useradd --system --home-dir /var/lib/agentron agentron`)"};
  }
  RunAs who{pw.pw_name, pw.pw_uid, pw.pw_gid, {}};
  if (!group.empty()) {
    auto gid = resolve_group(group);
    if (!gid) return gid.error();
    who.gid = *gid;
  }
  int count = 64;
  who.groups.resize(static_cast<size_t>(count));
  if (::getgrouplist(pw.pw_name, who.gid, who.groups.data(), &count) < 0) {
    who.groups.resize(static_cast<size_t>(count));  // count now says how many there are
    ::getgrouplist(pw.pw_name, who.gid, who.groups.data(), &count);
  }
  who.groups.resize(static_cast<size_t>(count));
  return who;
}

Result<std::optional<FsIdentity>> app_fs_identity(const std::string& user, const std::string& group) {
  if (user.empty()) return std::optional<FsIdentity>();
  auto who = resolve_run_as(user, group);
  if (!who) return who.error();
  return std::optional<FsIdentity>(FsIdentity{who->uid, who->gid, who->groups});
}

Status check_can_run_as(const RunAs& who) {
  if (::geteuid() == 0) return ok_status();
  if (::geteuid() == who.uid && ::getegid() == who.gid) return ok_status();
  return Error{"cannot_run_as", "[app] user = \"" + who.user +
                                    "\" needs the supervisor to start as root (it drops to that user for the app); "
                                    "start it as root, or remove [app] user to run the app as yourself"};
}

std::vector<std::string> run_as_argv(const std::filesystem::path& exec_helper, const RunAs& who, int report_fd,
                                     const std::vector<std::string>& argv) {
  std::string groups;
  for (gid_t g : who.groups) groups += (groups.empty() ? "" : ",") + std::to_string(g);
  std::vector<std::string> out{exec_helper.string(), "--uid", std::to_string(who.uid), "--gid",
                               std::to_string(who.gid)};
  if (!groups.empty()) out.insert(out.end(), {"--groups", groups});
  out.insert(out.end(), {"--report-fd", std::to_string(report_fd), "--"});
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

Status read_exec_report(int fd, int timeout_ms) {
  std::string report;
  char buf[512];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    int ready = ::poll(&p, 1, timeout_ms);
    if (ready == 0) return Error{"spawn_failed", "agentron-exec did not exec the app within 5s"};
    if (ready < 0 && errno == EINTR) continue;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: exec'd (or died; the reaper sees that)
    report.append(buf, static_cast<size_t>(n));
  }
  if (report.empty()) return ok_status();
  while (!report.empty() && report.back() == '\n') report.pop_back();
  return Error{"spawn_failed", report};
}

}  // namespace agentron
