#include "common/fs_identity.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <future>

#include "tests/temp_dir.h"

using namespace agentron;

namespace {

bool can_open(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

}  // namespace

TEST_CASE("acting as another user, this thread cannot open what only root may; others can", "[fs_identity]") {
  if (::geteuid() != 0) {
    WARN("skipped: acting as another user needs root");
    return;
  }
  testing::TempDir tmp;
  auto secret = tmp.path / "root-only";
  std::ofstream(secret) << "root's\n";
  REQUIRE(::chmod(secret.c_str(), 0600) == 0);
  FsIdentity nobody{65534, 65534, {}};
  // A thread that exists already (a new one would copy its creator's credentials).
  std::promise<void> go;
  std::future<bool> other = std::async(std::launch::async, [&] {
    go.get_future().wait();
    return can_open(secret);
  });
  {
    ActingAs as(&nobody);
    REQUIRE(as.ok());
    CHECK_FALSE(can_open(secret));  // the red team's swapped-in path leads nowhere now
    go.set_value();
    CHECK(other.get());  // per thread: the loop and the front keep root's view
  }
  CHECK(can_open(secret));  // restored
}

TEST_CASE("acting as nobody-in-particular changes nothing", "[fs_identity]") {
  ActingAs none(nullptr);
  CHECK(none.ok());
  std::optional<FsIdentity> absent;
  ActingAs also_none(absent);
  CHECK(also_none.ok());
}
