#include "fork/git_dir_check.h"

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "common/unique_fd.h"
#include "tests/temp_dir.h"

using namespace agentron;
namespace fs = std::filesystem;

namespace {

// A git directory as a clone leaves it, and beside it a file it must not write.
struct GitDir {
  GitDir() {
    for (const char* d : {"refs/heads/agent-improvement", "logs/refs/heads", "objects/pack", "objects/ab", "hooks",
                          "modules/sub/objects/cd"})
      fs::create_directories(dir / d);
    for (const char* f : {"HEAD", "config", "packed-refs", "index", "logs/HEAD", "refs/heads/main", "hooks/x.sample",
                          "objects/ab/cdef", "objects/pack/pack-1.pack", "modules/sub/objects/cd/ef"})
      std::ofstream(dir / f) << "x\n";
    std::ofstream(outside) << "the upstream's\n";
  }
  std::string problem() {
    UniqueFd fd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    return write_redirection_in(fd.get());
  }
  testing::TempDir tmp;
  fs::path dir = tmp.path / "git";
  fs::path outside = tmp.path / "outside";
};

}  // namespace

TEST_CASE("a git directory as a clone leaves it sends no write elsewhere", "[git_dir_check]") {
  GitDir git;
  CHECK(git.problem() == "");
}

TEST_CASE("a hard link is refused anywhere but in an object store", "[git_dir_check]") {
  for (const char* where : {"logs/refs/heads/agent-improvement-x", "logs/HEAD2", "refs/heads/agent-improvement/hl",
                            "info-exclude", "FETCH_HEAD", "hooks/pre-push"}) {
    GitDir git;
    fs::create_hard_link(git.outside, git.dir / where);
    INFO(where);
    CHECK(git.problem() == std::string(where) + " is a hard link (2 names)");
  }
  // A local clone links the source's objects and packs: they are never written in place.
  GitDir git;
  fs::create_hard_link(git.dir / "objects" / "ab" / "cdef", git.tmp.path / "linked-object");
  fs::create_hard_link(git.dir / "objects" / "pack" / "pack-1.pack", git.tmp.path / "linked-pack");
  fs::create_hard_link(git.dir / "modules" / "sub" / "objects" / "cd" / "ef", git.tmp.path / "linked-sub");
  CHECK(git.problem() == "");
}

TEST_CASE("a symlink is refused where libgit2 writes by path, and only there", "[git_dir_check]") {
  for (const char* where : {"HEAD", "config", "packed-refs", "index", "ORIG_HEAD", "refs/heads/agent-improvement/x",
                            "logs/refs/heads/x", "objects/ef", "hooks/pre-push"}) {
    GitDir git;
    fs::remove(git.dir / where);
    fs::create_symlink(git.outside, git.dir / where);
    INFO(where);
    CHECK(git.problem() == std::string(where) + " is a symlink");
  }
  GitDir git;
  fs::create_directories(git.dir / "tmp" / "x");
  fs::create_directory_symlink(git.tmp.path, git.dir / "tmp" / "x" / "up.git");
  CHECK(git.problem() == "");  // libgit2 never writes there
  std::ofstream(git.dir / "commondir") << "../elsewhere\n";
  CHECK(git.problem() == "commondir sends its refs and objects elsewhere");
}

TEST_CASE("folders nested without end are refused, not recursed into", "[git_dir_check]") {
  GitDir git;
  fs::path deep = git.dir / "refs" / "heads";
  for (int i = 0; i < 70; ++i) deep /= "d";
  fs::create_directories(deep);
  CHECK(git.problem().find("is nested deeper than 64 folders") != std::string::npos);
}
