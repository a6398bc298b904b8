#include "launcher/rotating_log.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/temp_dir.h"

using namespace agentron;
using agentron::testing::TempDir;
namespace fs = std::filesystem;

namespace {

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("the log rotates by size and keeps the newest files", "[rotating_log]") {
  TempDir dir;
  fs::path log = dir.path / "stdout.log";
  RotatingLog writer(log, 10, 2);
  REQUIRE(writer.open().ok());
  for (const char* chunk : {"aaaaaa\n", "bbbbbb\n", "cccccc\n", "dddddd\n"}) REQUIRE(writer.write(chunk).ok());
  CHECK(read(log) == "dddddd\n");
  CHECK(read(dir.path / "stdout.log.1") == "cccccc\n");
  CHECK(read(dir.path / "stdout.log.2") == "bbbbbb\n");
  CHECK_FALSE(fs::exists(dir.path / "stdout.log.3"));  // keep = 2: "aaaaaa" is gone
}

TEST_CASE("a reopened log continues where it was and counts its size", "[rotating_log]") {
  TempDir dir;
  fs::path log = dir.path / "stderr.log";
  {
    RotatingLog first(log, 10, 1);
    REQUIRE(first.open().ok());
    REQUIRE(first.write("12345678").ok());
  }
  RotatingLog second(log, 10, 1);
  REQUIRE(second.open().ok());
  REQUIRE(second.write("abc").ok());  // 8 + 3 > 10: rotates first
  CHECK(read(dir.path / "stderr.log.1") == "12345678");
  CHECK(read(log) == "abc");
}

TEST_CASE("max size 0 never rotates", "[rotating_log]") {
  TempDir dir;
  RotatingLog writer(dir.path / "x.log", 0, 3);
  REQUIRE(writer.open().ok());
  for (int i = 0; i < 100; ++i) REQUIRE(writer.write("0123456789").ok());
  CHECK(fs::file_size(dir.path / "x.log") == 1000);
  CHECK_FALSE(fs::exists(dir.path / "x.log.1"));
}

TEST_CASE("a chunk larger than the room left is split after whole lines", "[rotating_log]") {
  TempDir dir;
  fs::path log = dir.path / "out.log";
  RotatingLog writer(log, 12, 3);
  REQUIRE(writer.open().ok());
  REQUIRE(writer.write("aaaa\nbbbb\ncccc\ndddd\n").ok());  // one read() of 20 bytes
  CHECK(read(dir.path / "out.log.1") == "aaaa\nbbbb\n");
  CHECK(read(log) == "cccc\ndddd\n");
  REQUIRE(writer.write("a line longer than the whole file\n").ok());
  for (const auto& entry : fs::directory_iterator(dir.path)) CHECK(fs::file_size(entry.path()) <= 12);
}
