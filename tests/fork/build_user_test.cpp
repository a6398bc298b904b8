#include "fork/build_user.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/unique_fd.h"
#include "tests/temp_dir.h"

using namespace agentron;
namespace fs = std::filesystem;

namespace {

RunAs app_user() { return RunAs{"app", 1234, 2000, {2000, 3000}}; }

struct stat dir_stat(uid_t uid, gid_t gid, mode_t mode) {
  struct stat st {};
  st.st_uid = uid;
  st.st_gid = gid;
  st.st_mode = S_IFDIR | mode;
  return st;
}

Status check(const fs::path& dir, const RunAs& who) {
  UniqueFd fd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  return check_out_of_reach(fd.get(), dir, who);
}

}  // namespace

TEST_CASE("may_write: the owner, a writable group the user is in, or writable by others", "[build_user]") {
  RunAs app = app_user();
  CHECK(may_write(dir_stat(1234, 0, 0500), app));  // its owner can chmod it
  CHECK_FALSE(may_write(dir_stat(0, 0, 0755), app));
  CHECK(may_write(dir_stat(0, 0, 0757), app));
  CHECK(may_write(dir_stat(0, 2000, 0775), app));  // its primary group
  CHECK(may_write(dir_stat(0, 3000, 0775), app));  // a supplementary group
  CHECK_FALSE(may_write(dir_stat(0, 4000, 0775), app));
  CHECK_FALSE(may_write(dir_stat(0, 2000, 0755), app));
}

TEST_CASE("release_build_user: no [app] user, or already that user, means no drop and no seal", "[build_user]") {
  auto none = release_build_user("", "");
  REQUIRE(none);
  CHECK_FALSE(none->has_value());
  auto self = release_build_user(std::to_string(::geteuid()), "");
  REQUIRE(self);
  CHECK_FALSE(self->has_value());
}

TEST_CASE("release_build_user: a third user may not build releases for the app's user", "[build_user]") {
  const passwd* nobody = ::getpwnam("nobody");
  if (::geteuid() != 0 || !nobody) {
    WARN("skipped: needs root (to become nobody) and the user nobody");
    return;
  }
  uid_t uid = nobody->pw_uid;
  gid_t gid = nobody->pw_gid;
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setresgid(gid, gid, gid) != 0 || ::setresuid(uid, uid, uid) != 0) ::_exit(9);
    auto as = release_build_user("root", "");
    bool refused = !as && as.error().code == "needs_root" &&
                   as.error().message.find("release as root: with [app] user = \"root\"") != std::string::npos;
    ::_exit(refused ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("check_out_of_reach: releases_dir and the folders above it must not be the app user's to change",
          "[build_user]") {
  const passwd* nobody = ::getpwnam("nobody");
  if (::geteuid() != 0 || !nobody) {
    WARN("skipped: needs root (to own folders for another user) and the user nobody");
    return;
  }
  RunAs app{"nobody", nobody->pw_uid, nobody->pw_gid, {nobody->pw_gid}};
  testing::TempDir tmp;  // /tmp (sticky, root's) / agentron-test-XXXXXX (root's)
  fs::path releases = tmp.path / "releases";
  fs::create_directory(releases);
  ::chmod(releases.c_str(), 0755);
  CHECK(check(releases, app));

  SECTION("releases_dir owned by the app's user") {
    REQUIRE(::chown(releases.c_str(), app.uid, app.gid) == 0);
    auto s = check(releases, app);
    REQUIRE_FALSE(s);
    CHECK(s.error().code == "releases_dir_unsafe");
    CHECK_THAT(s.error().message, Catch::Contains("is writable by nobody, the app's user"));
    CHECK_THAT(s.error().message, Catch::Contains("chown root:root DIR && chmod 0755 DIR"));
  }
  SECTION("releases_dir writable by others") {
    ::chmod(releases.c_str(), 0777);
    CHECK_FALSE(check(releases, app));
  }
  SECTION("a folder above it owned by the app's user") {
    REQUIRE(::chown(tmp.path.c_str(), app.uid, app.gid) == 0);
    auto s = check(releases, app);
    REQUIRE_FALSE(s);
    CHECK_THAT(s.error().message, Catch::Contains("lies in " + tmp.path.string()));
    CHECK_THAT(s.error().message, Catch::Contains("could move it away"));
  }
  SECTION("a folder above it writable by others: refused unless sticky (like /tmp)") {
    ::chmod(tmp.path.c_str(), 0777);
    CHECK_FALSE(check(releases, app));
    ::chmod(tmp.path.c_str(), 01777);
    CHECK(check(releases, app));
  }
}
