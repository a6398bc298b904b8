#include "fork/seal_tree.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <fstream>

#include "common/remove_tree.h"
#include "common/unique_fd.h"
#include "tests/read_text.h"
#include "tests/temp_dir.h"

using namespace agentron;
namespace fs = std::filesystem;

namespace {

void write_file(const fs::path& path, const std::string& text, mode_t mode = 0644) {
  std::ofstream(path, std::ios::binary) << text;
  ::chmod(path.c_str(), mode);  // after the write: the umask does not apply
}

// A build folder and an empty folder for its sealed copy, side by side in a temp dir.
struct Trees {
  testing::TempDir tmp;
  fs::path build = tmp.path / "build", sealed = tmp.path / "sealed";
  Trees() {
    fs::create_directory(build);
    fs::create_directory(sealed);
  }
  Status seal(uid_t builder = ::geteuid()) {
    UniqueFd from(::open(build.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    UniqueFd to(::open(sealed.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    return seal_tree(from.get(), to.get(), builder, build.string());
  }
};

mode_t mode_of(const fs::path& path) {
  struct stat st {};
  ::lstat(path.c_str(), &st);
  return st.st_mode & 07777;
}

// Gives the tree at `dir` to `uid` (as root), not following symlinks.
void chown_tree(const fs::path& dir, uid_t uid, gid_t gid) {
  REQUIRE(::lchown(dir.c_str(), uid, gid) == 0);
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    REQUIRE(::lchown(entry.path().c_str(), uid, gid) == 0);
}

const passwd* nobody() { return ::getpwnam("nobody"); }

}  // namespace

TEST_CASE("the seal copies folders, files and their bytes", "[seal_tree]") {
  Trees t;
  fs::create_directories(t.build / "a" / "b");
  write_file(t.build / "a" / "b" / "c.txt", "deep\n");
  std::string big(1 << 20, 'x');
  big[12345] = 'y';
  write_file(t.build / "big.bin", big);
  write_file(t.build / "empty", "");
  REQUIRE(t.seal());
  CHECK(testing::read_text(t.sealed / "a" / "b" / "c.txt") == "deep\n");
  CHECK(testing::read_text(t.sealed / "big.bin") == big);
  CHECK(fs::is_regular_file(t.sealed / "empty"));
  CHECK(fs::file_size(t.sealed / "empty") == 0);
}

TEST_CASE("a symlink is recreated as a symlink and never followed", "[seal_tree]") {
  Trees t;
  fs::create_directory(t.tmp.path / "outside");
  write_file(t.tmp.path / "outside" / "secret.txt", "not for the release\n");
  fs::create_symlink(t.tmp.path / "outside" / "secret.txt", t.build / "to-file");
  fs::create_directory_symlink(t.tmp.path / "outside", t.build / "to-dir");
  fs::create_symlink("../nowhere", t.build / "dangling");
  REQUIRE(t.seal());
  CHECK(fs::is_symlink(t.sealed / "to-file"));
  CHECK(fs::read_symlink(t.sealed / "to-file") == t.tmp.path / "outside" / "secret.txt");
  CHECK(fs::is_symlink(t.sealed / "to-dir"));
  CHECK(fs::read_symlink(t.sealed / "dangling") == "../nowhere");
  // Nothing of the outside folder was copied in.
  for (const auto& entry : fs::recursive_directory_iterator(t.sealed)) CHECK(entry.path().filename() != "secret.txt");
}

TEST_CASE("modes become 0755 or 0644: no setuid, setgid, sticky or group/other write", "[seal_tree]") {
  Trees t;
  write_file(t.build / "setuid-tool", "#!/bin/sh\n", 04755);
  write_file(t.build / "setgid-data", "x", 02644);
  write_file(t.build / "everyones", "x", 0666);
  write_file(t.build / "group-exec-only", "x", 0614);  // only the owner's x bit counts
  write_file(t.build / "unreadable", "still copied", 0000);
  fs::create_directory(t.build / "sticky");
  ::chmod((t.build / "sticky").c_str(), 01777);
  REQUIRE(t.seal());
  CHECK(mode_of(t.sealed / "setuid-tool") == 0755);
  CHECK(mode_of(t.sealed / "setgid-data") == 0644);
  CHECK(mode_of(t.sealed / "everyones") == 0644);
  CHECK(mode_of(t.sealed / "group-exec-only") == 0644);
  CHECK(mode_of(t.sealed / "sticky") == 0755);
  if (::geteuid() == 0) CHECK(testing::read_text(t.sealed / "unreadable") == "still copied");
}

TEST_CASE("a fifo, a socket or a device is refused, naming its path", "[seal_tree]") {
  Trees t;
  fs::create_directory(t.build / "sub");
  REQUIRE(::mkfifo((t.build / "sub" / "pipe").c_str(), 0644) == 0);
  auto sealed = t.seal();
  REQUIRE_FALSE(sealed);
  CHECK(sealed.error().code == "seal_refused");
  CHECK_THAT(sealed.error().message, Catch::Contains((t.build / "sub" / "pipe").string() + " is a fifo"));
}

TEST_CASE("folders nested too deep are refused", "[seal_tree]") {
  Trees t;
  fs::path deep = t.build;
  for (int i = 0; i < 260; ++i) deep /= "d";
  fs::create_directories(deep);
  auto sealed = t.seal();
  REQUIRE_FALSE(sealed);
  CHECK_THAT(sealed.error().message, Catch::Contains("nested deeper than 256 folders"));
}

TEST_CASE("as root: a hard link to another user's file is refused, the builder's own hard links are copied",
          "[seal_tree]") {
  if (::geteuid() != 0 || !nobody()) {
    WARN("skipped: needs root and the user nobody");
    return;
  }
  uid_t uid = nobody()->pw_uid;
  gid_t gid = nobody()->pw_gid;
  SECTION("the builder's own file under two names (pnpm's store links)") {
    Trees t;
    write_file(t.tmp.path / "store-file", "from the store\n");
    REQUIRE(::link((t.tmp.path / "store-file").c_str(), (t.build / "linked").c_str()) == 0);
    chown_tree(t.build, uid, gid);
    REQUIRE(t.seal(uid));
    CHECK(testing::read_text(t.sealed / "linked") == "from the store\n");
    struct stat st {};
    ::lstat((t.sealed / "linked").c_str(), &st);
    CHECK(st.st_nlink == 1);  // a copy, not the store's file
  }
  SECTION("root's file linked in") {
    Trees t;
    write_file(t.tmp.path / "root-secret", "root only\n", 0600);
    fs::create_directory(t.build / "x");
    chown_tree(t.build, uid, gid);
    REQUIRE(::link((t.tmp.path / "root-secret").c_str(), (t.build / "x" / "shadow").c_str()) == 0);
    auto sealed = t.seal(uid);
    REQUIRE_FALSE(sealed);
    CHECK_THAT(sealed.error().message, Catch::Contains((t.build / "x" / "shadow").string() +
                                                       " is a hard link to a file of uid 0, not the build's uid"));
    CHECK_FALSE(fs::exists(t.sealed / "x" / "shadow"));
  }
  SECTION("a folder or file of another user") {
    Trees t;
    write_file(t.build / "roots", "x");
    chown_tree(t.build, uid, gid);
    REQUIRE(::lchown((t.build / "roots").c_str(), 0, 0) == 0);
    auto sealed = t.seal(uid);
    REQUIRE_FALSE(sealed);
    CHECK_THAT(sealed.error().message, Catch::Contains("roots belongs to uid 0"));
  }
}

TEST_CASE("as root: the sealed tree is root's, and the build's user can change nothing in it", "[seal_tree]") {
  if (::geteuid() != 0 || !nobody()) {
    WARN("skipped: needs root and the user nobody");
    return;
  }
  uid_t uid = nobody()->pw_uid;
  gid_t gid = nobody()->pw_gid;
  Trees t;
  ::chmod(t.tmp.path.c_str(), 0755);
  ::chmod(t.sealed.c_str(), 0755);
  fs::create_directory(t.build / "sub");
  write_file(t.build / "sub" / "file", "sealed\n", 0666);
  write_file(t.build / "tool", "#!/bin/sh\n", 04777);
  chown_tree(t.build, uid, gid);
  REQUIRE(t.seal(uid));
  for (const auto& entry : fs::recursive_directory_iterator(t.sealed)) {
    struct stat st {};
    ::lstat(entry.path().c_str(), &st);
    CHECK(st.st_uid == 0);
    if (!S_ISLNK(st.st_mode)) CHECK((st.st_mode & 07022) == 0);
  }
  // As nobody: no new file, no write, no rename, no removal anywhere in it.
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setresgid(gid, gid, gid) != 0 || ::setresuid(uid, uid, uid) != 0) ::_exit(9);
    int failures = 0;
    auto refused = [&](int rc) { failures += rc >= 0 ? 1 : 0; };
    refused(::open((t.sealed / "new").c_str(), O_WRONLY | O_CREAT, 0644));
    refused(::open((t.sealed / "sub" / "new").c_str(), O_WRONLY | O_CREAT, 0644));
    refused(::open((t.sealed / "sub" / "file").c_str(), O_WRONLY));
    refused(::open((t.sealed / "tool").c_str(), O_WRONLY | O_APPEND));
    refused(::rename((t.sealed / "sub" / "file").c_str(), (t.sealed / "sub" / "moved").c_str()));
    refused(::unlink((t.sealed / "tool").c_str()));
    refused(::chmod((t.sealed / "sub").c_str(), 0777));
    refused(::chown((t.sealed / "sub").c_str(), uid, gid));
    ::_exit(failures);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(testing::read_text(t.sealed / "sub" / "file") == "sealed\n");
}

TEST_CASE("remove_tree_at removes a tree without following its symlinks", "[seal_tree]") {
  testing::TempDir tmp;
  fs::create_directory(tmp.path / "outside");
  write_file(tmp.path / "outside" / "keep.txt", "kept\n");
  fs::create_directories(tmp.path / "tree" / "a" / "b");
  write_file(tmp.path / "tree" / "a" / "b" / "f", "x");
  fs::create_directory_symlink(tmp.path / "outside", tmp.path / "tree" / "link");
  fs::create_directory_symlink(tmp.path / "outside", tmp.path / "tree" / "a" / "link");
  UniqueFd parent(::open(tmp.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  REQUIRE(remove_tree_at(parent.get(), "tree"));
  CHECK_FALSE(fs::exists(tmp.path / "tree"));
  CHECK(testing::read_text(tmp.path / "outside" / "keep.txt") == "kept\n");
  CHECK(remove_tree_at(parent.get(), "tree"));  // absent: done
  // A symlink by the name itself is removed, not followed.
  fs::create_directory_symlink(tmp.path / "outside", tmp.path / "tree");
  REQUIRE(remove_tree_at(parent.get(), "tree"));
  CHECK(fs::exists(tmp.path / "outside" / "keep.txt"));
}
