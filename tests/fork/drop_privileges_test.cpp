#include "fork/drop_privileges.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>

#include "fork/self_protection.h"

using namespace agentron;
namespace fs = std::filesystem;

namespace {

// Runs `work` in a forked child — a drop cannot be undone, and the test process must
// stay root — and returns what it reported: "" if all held, else what did not. The
// child uses no Catch2 macros.
std::string in_child(const std::function<std::string()>& work) {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) return "pipe failed";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    std::string report = work();
    (void)!::write(fds[1], report.data(), report.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string report;
  std::array<char, 512> buf{};
  for (ssize_t n; (n = ::read(fds[0], buf.data(), buf.size())) > 0 || (n < 0 && errno == EINTR);) {
    if (n > 0) report.append(buf.data(), static_cast<size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return "the child died: " + report;
  return report;
}

// As the user `uid`/`gid` with no supplementary groups: how a test becomes someone
// who is not root, without drop_to().
bool become(uid_t uid, gid_t gid) {
  return ::setgroups(0, nullptr) == 0 && ::setresgid(gid, gid, gid) == 0 && ::setresuid(uid, uid, uid) == 0;
}

// The ids and state a drop to `who` must leave, or what differs.
std::string dropped_state_problem(const RunAs& who) {
  uid_t r = 0, e = 0, s = 0;
  gid_t rg = 0, eg = 0, sg = 0;
  ::getresuid(&r, &e, &s);
  ::getresgid(&rg, &eg, &sg);
  if (r != who.uid || e != who.uid || s != who.uid) return "uids not the user's";
  if (rg != who.gid || eg != who.gid || sg != who.gid) return "gids not the user's";
  std::array<gid_t, 64> groups{};
  int count = ::getgroups(static_cast<int>(groups.size()), groups.data());
  for (int i = 0; i < count; ++i) {
    if (groups[static_cast<size_t>(i)] == 0) return "still in group 0";
  }
  if (::setuid(0) == 0 || ::setresuid(0, 0, 0) == 0 || ::seteuid(0) == 0) return "could become root again";
  if (::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) return "dumpable after the drop";
  return "";
}

// A user other than root whose home folder exists, if this machine has one.
std::optional<RunAs> user_with_a_home() {
  ::setpwent();
  std::optional<std::string> name;
  while (const passwd* pw = ::getpwent()) {
    std::error_code ec;
    if (pw->pw_uid != 0 && pw->pw_dir && fs::is_directory(pw->pw_dir, ec)) {
      name = pw->pw_name;
      break;
    }
  }
  ::endpwent();
  if (!name) return std::nullopt;
  auto who = resolve_run_as(*name, "");
  return who ? std::optional<RunAs>(*who) : std::nullopt;
}

bool root_and_nobody() { return ::geteuid() == 0 && ::getpwnam("nobody"); }

}  // namespace

TEST_CASE("workspace_verb_user: release, no [app] user, or an agentron-fork that is not root means no drop",
          "[drop_privileges]") {
  auto release = workspace_verb_user("release", "nobody", "");
  REQUIRE(release);
  CHECK_FALSE(release->has_value());
  auto no_user = workspace_verb_user("build", "", "");
  REQUIRE(no_user);
  CHECK_FALSE(no_user->has_value());
  auto as_root = workspace_verb_user("push", "root", "");  // root as the app's user: nothing to drop to
  REQUIRE(as_root);
  CHECK_FALSE(as_root->has_value());
  if (!root_and_nobody()) {
    WARN("skipped the rest: needs root and the user nobody");
    return;
  }
  auto dropped = workspace_verb_user("commit", "nobody", "");
  REQUIRE(dropped);
  REQUIRE(dropped->has_value());
  CHECK((*dropped)->uid == ::getpwnam("nobody")->pw_uid);
  const passwd* nobody = ::getpwnam("nobody");
  std::string report = in_child([uid = nobody->pw_uid, gid = nobody->pw_gid] {
    if (!become(uid, gid)) return std::string("cannot become nobody");
    auto who = workspace_verb_user("build", "daemon", "");
    return who && !who->has_value() ? std::string() : std::string("not root, yet asked to drop");
  });
  CHECK(report == "");
}

TEST_CASE("workspace_verb_user: an unknown [app] user or group is drop_failed", "[drop_privileges]") {
  if (::geteuid() != 0) {
    WARN("skipped: only root resolves the user to drop to");
    return;
  }
  auto user = workspace_verb_user("clone-or-pull", "no-such-user-x", "");
  REQUIRE_FALSE(user);
  CHECK(user.error().code == "drop_failed");
  CHECK_THAT(user.error().message, Catch::Contains("no-such-user-x") && Catch::Contains("nothing was done"));
  auto group = workspace_verb_user("clone-or-pull", "nobody", "no-such-group-x");
  REQUIRE_FALSE(group);
  CHECK(group.error().code == "drop_failed");
}

TEST_CASE("drop_to: the user's ids for good, no way back to root, still non-dumpable", "[drop_privileges]") {
  if (!root_and_nobody()) {
    WARN("skipped: needs root and the user nobody");
    return;
  }
  auto who = resolve_run_as("nobody", "");
  REQUIRE(who);
  std::string report = in_child([&] {
    ::setenv("HOME", "/root-home-before", 1);
    if (auto s = make_undumpable(); !s) return s.error().message;
    auto home = drop_to(*who);
    if (!home) return home.error().message;
    // nobody's home, /nonexistent, does not exist: HOME is left as it was.
    if (!home->empty() || std::string(std::getenv("HOME")) != "/root-home-before") return std::string("HOME changed");
    return dropped_state_problem(*who);
  });
  CHECK(report == "");
}

TEST_CASE("drop_to: HOME becomes the user's home when that folder exists", "[drop_privileges]") {
  auto who = user_with_a_home();
  if (::geteuid() != 0 || !who) {
    WARN("skipped: needs root and a user other than root whose home exists");
    return;
  }
  std::string expected = ::getpwuid(who->uid)->pw_dir;
  std::string report = in_child([&] {
    ::setenv("HOME", "/root", 1);
    if (auto s = make_undumpable(); !s) return s.error().message;
    auto home = drop_to(*who);
    if (!home) return home.error().message;
    if (*home != expected || std::string(std::getenv("HOME")) != expected) return "HOME is " + *home;
    return dropped_state_problem(*who);
  });
  CHECK(report == "");
}

TEST_CASE("drop_to: a process that cannot switch users gets drop_failed", "[drop_privileges]") {
  const passwd* nobody = ::getpwnam("nobody");
  auto daemon = resolve_run_as("daemon", "");
  if (!root_and_nobody() || !daemon) {
    WARN("skipped: needs root and the users nobody and daemon");
    return;
  }
  std::string report = in_child([&, uid = nobody->pw_uid, gid = nobody->pw_gid] {
    if (!become(uid, gid)) return std::string("cannot become nobody");
    auto home = drop_to(*daemon);
    if (home) return std::string("nobody switched to daemon");
    if (home.error().code != "drop_failed") return "code " + home.error().code;
    if (home.error().message.find("cannot work as [app] user 'daemon'") == std::string::npos ||
        home.error().message.find("nothing was done") == std::string::npos)
      return "message: " + home.error().message;
    return std::string();
  });
  CHECK(report == "");
}
