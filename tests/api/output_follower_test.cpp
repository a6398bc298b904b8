// Following a file another process appends to (api/output_follower.h): lines already
// there, lines as they are written, a partial last line only when flushed.
#include "api/output_follower.h"

#include <catch2/catch.hpp>
#include <fstream>

#include "tests/temp_dir.h"

using namespace agentron;

namespace {

void append(const std::filesystem::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::app);
  out << text;
}

}  // namespace

TEST_CASE("a follower hands over complete lines as they are written", "[api][follower]") {
  testing::TempDir dir;
  auto file = dir.path / "output.log";
  append(file, "one\ntwo\npart");
  boost::asio::io_context io;
  std::vector<std::string> seen;
  auto follower = OutputFollower::follow(
      io, file, [&](std::vector<std::string> lines) { seen.insert(seen.end(), lines.begin(), lines.end()); });
  REQUIRE(follower);
  CHECK(seen == std::vector<std::string>{"one", "two"});  // what was there, at once

  append(file, "ial\nthree\n");
  // Bounded: the kernel's event, then the read.
  for (int i = 0; i < 10 && seen.size() < 4; ++i) io.run_one_for(std::chrono::seconds(5));
  CHECK(seen == std::vector<std::string>{"one", "two", "partial", "three"});

  append(file, "no newline");
  (*follower)->flush();
  CHECK(seen.back() == "no newline");

  std::string long_line(5000, 'x');
  append(file, long_line + "\n");
  (*follower)->flush();
  REQUIRE(seen.size() == 7);
  CHECK(seen[5] == long_line.substr(0, 4096));  // cut at 4 KiB, the rest follows
  CHECK(seen[6] == long_line.substr(4096));
}

TEST_CASE("following a file that is not there is an error", "[api][follower]") {
  testing::TempDir dir;
  boost::asio::io_context io;
  auto follower = OutputFollower::follow(io, dir.path / "missing.log", [](std::vector<std::string>) {});
  REQUIRE_FALSE(follower);
  CHECK(follower.error().code == "follow_failed");
}
