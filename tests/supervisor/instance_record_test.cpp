#include "supervisor/instance_record.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "tests/temp_dir.h"

namespace agentron {

TEST_CASE("a recorded instance that still runs is found by pid and start time") {
  testing::TempDir tmp;
  auto ticks = process_start_ticks(::getpid());
  REQUIRE(ticks);
  write_instance_record(tmp.path, {"i-1", ::getpid(), *ticks}, SlotRole::candidate);
  auto found = live_recorded_instance(tmp.path, SlotRole::candidate);
  REQUIRE(found);
  CHECK(found->instance_id == "i-1");
  CHECK_FALSE(live_recorded_instance(tmp.path, SlotRole::current));  // another role's file
  write_instance_record(tmp.path, {"i-1", ::getpid(), *ticks + 1}, SlotRole::candidate);
  CHECK_FALSE(live_recorded_instance(tmp.path, SlotRole::candidate));  // a reused pid is not it
}

TEST_CASE("an instance record with fields of the wrong type is not ours and never throws") {
  // An app running as the supervisor's user can write .supervisor/ (docs/security.md).
  testing::TempDir tmp;
  auto ticks = process_start_ticks(::getpid());
  REQUIRE(ticks);
  std::string good_pid = std::to_string(::getpid()), good_ticks = std::to_string(*ticks);
  const std::vector<std::string> records = {
      "not json",
      "[]",
      R"({"instance_id":5,"pid":)" + good_pid + R"(,"start_ticks":)" + good_ticks + "}",
      R"({"instance_id":"i","pid":"1","start_ticks":)" + good_ticks + "}",
      R"({"instance_id":"i","pid":)" + good_pid + R"(,"start_ticks":-1})",
  };
  for (const std::string& text : records) {
    INFO(text);
    std::ofstream(tmp.path / "current.json") << text;
    std::optional<InstanceRecord> found;
    REQUIRE_NOTHROW(found = live_recorded_instance(tmp.path));
    CHECK_FALSE(found);
  }
}

}  // namespace agentron
