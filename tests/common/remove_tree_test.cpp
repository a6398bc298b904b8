#include "common/remove_tree.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "tests/temp_dir.h"

using namespace agentron;
namespace fs = std::filesystem;

TEST_CASE("remove_tree removes a folder with everything below it", "[remove_tree]") {
  testing::TempDir tmp;
  fs::create_directories(tmp.path / "t/a/b/c");
  std::ofstream(tmp.path / "t/a/b/c/file") << "x";
  std::ofstream(tmp.path / "t/top") << "y";
  fs::create_symlink("a", tmp.path / "t/link");
  REQUIRE(remove_tree(tmp.path / "t"));
  CHECK_FALSE(fs::exists(fs::symlink_status(tmp.path / "t")));
}

TEST_CASE("remove_tree never follows a symlink below the folder it was given", "[remove_tree]") {
  testing::TempDir tmp;
  fs::create_directories(tmp.path / "elsewhere");
  std::ofstream(tmp.path / "elsewhere/precious") << "keep";
  fs::create_directories(tmp.path / "t/sub");
  fs::create_directory_symlink(tmp.path / "elsewhere", tmp.path / "t/sub/to-elsewhere");
  fs::create_directory_symlink(tmp.path / "elsewhere", tmp.path / "t/dirlink");
  REQUIRE(remove_tree(tmp.path / "t"));
  CHECK_FALSE(fs::exists(fs::symlink_status(tmp.path / "t")));
  CHECK(fs::exists(tmp.path / "elsewhere/precious"));
}

TEST_CASE("remove_tree given a symlink removes the link, not its target", "[remove_tree]") {
  testing::TempDir tmp;
  fs::create_directories(tmp.path / "target");
  std::ofstream(tmp.path / "target/precious") << "keep";
  fs::create_directory_symlink(tmp.path / "target", tmp.path / "link");
  REQUIRE(remove_tree(tmp.path / "link"));
  CHECK_FALSE(fs::exists(fs::symlink_status(tmp.path / "link")));
  CHECK(fs::exists(tmp.path / "target/precious"));
}

TEST_CASE("remove_tree of a path that is not there succeeds", "[remove_tree]") {
  testing::TempDir tmp;
  CHECK(remove_tree(tmp.path / "absent"));
  CHECK_FALSE(remove_tree(tmp.path / ".."));
}
