#include "common/private_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "tests/temp_dir.h"

using namespace agentron;
namespace fs = std::filesystem;

namespace {

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("make_private_dir creates the folder with its mode and accepts it", "[private_dir]") {
  testing::TempDir tmp;  // /tmp/agentron-test-*: 0700, ours, below sticky /tmp
  REQUIRE(make_private_dir(tmp.path / "state/deeper", 0711));
  CHECK(mode_of(tmp.path / "state/deeper") == 0711);
  CHECK(check_private_dir(tmp.path / "state/deeper"));
}

TEST_CASE("a private folder writable by group or others is refused, saying how to fix it", "[private_dir]") {
  testing::TempDir tmp;
  REQUIRE(make_dir(tmp.path / "state", 0777));
  auto checked = check_private_dir(tmp.path / "state");
  REQUIRE_FALSE(checked);
  CHECK_THAT(checked.error().message, Catch::Contains("writable by group or others (mode 0777)"));
  CHECK_THAT(checked.error().message, Catch::Contains("chmod go-w"));
}

TEST_CASE("a folder above it that others may write is refused, unless sticky", "[private_dir]") {
  testing::TempDir tmp;
  REQUIRE(make_dir(tmp.path / "open", 0777));
  REQUIRE(make_dir(tmp.path / "open/state", 0700));
  auto checked = check_private_dir(tmp.path / "open/state");
  REQUIRE_FALSE(checked);
  CHECK_THAT(checked.error().message, Catch::Contains(tmp.path.string() + "/open (above"));
  REQUIRE(::chmod((tmp.path / "open").c_str(), 01777) == 0);  // like /tmp: others cannot rename our entries
  CHECK(check_private_dir(tmp.path / "open/state"));
}

TEST_CASE("a symlink is not a private folder, and make_dir does not chmod through one", "[private_dir]") {
  testing::TempDir tmp;
  REQUIRE(make_dir(tmp.path / "real", 0700));
  fs::create_directory_symlink(tmp.path / "real", tmp.path / "link");
  CHECK_FALSE(check_private_dir(tmp.path / "link"));
  CHECK_FALSE(make_dir(tmp.path / "link", 0777));
  CHECK(mode_of(tmp.path / "real") == 0700);
}

TEST_CASE("a private folder owned by another user is refused", "[private_dir]") {
  if (::geteuid() != 0) {
    WARN("skipped: giving a folder away needs root");
    return;
  }
  testing::TempDir tmp;
  REQUIRE(make_dir(tmp.path / "state", 0700));
  REQUIRE(::chown((tmp.path / "state").c_str(), 65534, 65534) == 0);
  auto checked = check_private_dir(tmp.path / "state");
  REQUIRE_FALSE(checked);
  CHECK_THAT(checked.error().message, Catch::Contains("is owned by uid 65534"));
}
