#include "backup/file_ops.h"

#include <fcntl.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "tests/temp_dir.h"

using namespace agentron;
using agentron::testing::TempDir;
namespace fs = std::filesystem;

TEST_CASE("open_beneath stays beneath its root and follows no symlink", "[file_ops]") {
  TempDir tmp;
  fs::create_directories(tmp.path / "root" / "sub");
  fs::create_directories(tmp.path / "outside");
  std::ofstream(tmp.path / "root" / "sub" / "in.txt") << "in";
  std::ofstream(tmp.path / "outside" / "secret.txt") << "out";
  fs::create_directory_symlink(tmp.path / "outside", tmp.path / "root" / "link");
  fs::create_directory_symlink("sub", tmp.path / "root" / "relative-link");
  UniqueFd root(::open((tmp.path / "root").c_str(), O_RDONLY | O_DIRECTORY));
  REQUIRE(root.valid());

  CHECK(open_beneath(root.get(), "root", "sub/in.txt", O_RDONLY).ok());
  CHECK(open_beneath(root.get(), "root", ".", O_PATH | O_DIRECTORY).ok());
  for (const char* escape : {"../outside/secret.txt", "sub/../../outside/secret.txt", "/etc/passwd", "link/secret.txt",
                             "relative-link/in.txt"}) {
    auto fd = open_beneath(root.get(), "root", escape, O_RDONLY);
    REQUIRE_FALSE(fd.ok());
    CHECK(fd.error().code == "unsafe_path");
  }
  // Creating under a symlinked folder is refused too: nothing appears outside.
  CHECK_FALSE(open_beneath(root.get(), "root", "link/new.txt", O_WRONLY | O_CREAT | O_EXCL, 0600).ok());
  CHECK_FALSE(fs::exists(tmp.path / "outside" / "new.txt"));
}
