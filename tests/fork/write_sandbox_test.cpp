#include "fork/write_sandbox.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <fstream>

#include "tests/temp_dir.h"

using namespace agentron;
namespace fs = std::filesystem;

namespace {

// Runs `body` in a child process (a sandbox lasts for the life of a process) and
// returns its exit code.
template <typename F>
int in_child(F body) {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(body());
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

bool can_create(const fs::path& file) {
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0) ::close(fd);
  return fd >= 0;
}

}  // namespace

TEST_CASE("once confined, writes land only beneath the allowed folder, whatever the path says", "[write_sandbox]") {
  if (!probe_write_sandbox().enforced) {
    WARN("skipped: " << probe_write_sandbox().description);
    return;
  }
  testing::TempDir tmp;
  fs::create_directories(tmp.path / "ws" / ".git" / "refs");
  fs::create_directories(tmp.path / "up.git" / "refs");
  int code = in_child([&] {
    int ws = ::open((tmp.path / "ws").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (!confine_writes({ws}, "ws")) return 1;
    if (!can_create(tmp.path / "ws" / ".git" / "refs" / "ok")) return 2;
    if (can_create(tmp.path / "up.git" / "refs" / "evil")) return 3;
    // The agent swaps .git/refs for a symlink into the upstream after the check: still denied.
    fs::rename(tmp.path / "ws" / ".git" / "refs", tmp.path / "ws" / ".git" / "refs.real");
    fs::create_directory_symlink(tmp.path / "up.git" / "refs", tmp.path / "ws" / ".git" / "refs");
    if (can_create(tmp.path / "ws" / ".git" / "refs" / "evil")) return 4;
    return errno == EACCES ? 0 : 5;
  });
  CHECK(code == 0);
  CHECK_FALSE(fs::exists(tmp.path / "up.git" / "refs" / "evil"));
  CHECK(fs::exists(tmp.path / "ws" / ".git" / "refs.real" / "ok"));
}

TEST_CASE("a confined child writes beneath its folder only, and its answer comes back", "[write_sandbox]") {
  testing::TempDir tmp;
  fs::create_directories(tmp.path / "mirror");
  int mirror = ::open((tmp.path / "mirror").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  auto answer = run_confined({mirror}, "mirror", [&]() -> Result<std::string> {
    std::string inside = can_create(tmp.path / "mirror" / "ok") ? "inside" : "not inside";
    std::string outside = can_create(tmp.path / "evil") ? "outside" : "not outside";
    return inside + ", " + outside;
  });
  REQUIRE(answer);
  bool enforced = probe_write_sandbox().enforced;
  CHECK(*answer == (enforced ? "inside, not outside" : "inside, outside"));
  CHECK(can_create(tmp.path / "parent"));  // the caller itself is not confined
  auto failed = run_confined({mirror}, "mirror", []() -> Result<std::string> {
    return Error{"git_error", "cannot fetch\nsecond line"};
  });
  REQUIRE_FALSE(failed);
  CHECK(failed.error().code == "git_error");
  CHECK(failed.error().message == "cannot fetch\nsecond line");
  ::close(mirror);
}
