// The MCP endpoint's sessions (api/mcp_sessions.h): ids, expiry after idling, the cap.
#include "api/mcp_sessions.h"

#include <catch2/catch.hpp>

#include "common/fake_clock.h"

using namespace agentron;

namespace {

struct Ids {
  int next = 0;
  std::string operator()() { return "s" + std::to_string(next++); }
};

}  // namespace

TEST_CASE("a session keeps its revision and client and is found by its id", "[api][mcp]") {
  FakeClock clock;
  McpSessions sessions(clock, Ids{});
  McpSession& opened = sessions.open("2025-06-18", "agentron-studio 0.1.0");
  std::string id = opened.id;
  CHECK(id == "s0");
  McpSession* found = sessions.find(id);
  REQUIRE(found);
  CHECK((found->version == "2025-06-18" && found->client == "agentron-studio 0.1.0" && found->log_level.empty()));
  CHECK(sessions.find("s9") == nullptr);
  CHECK(sessions.close(id));
  CHECK_FALSE(sessions.close(id));
  CHECK(sessions.find(id) == nullptr);
}

TEST_CASE("an id the generator repeats is never handed out twice", "[api][mcp]") {
  FakeClock clock;
  int calls = 0;
  McpSessions sessions(clock, [&] { return ++calls <= 2 ? std::string("same") : "other"; });
  CHECK(sessions.open("2025-06-18", "").id == "same");
  CHECK(sessions.open("2025-06-18", "").id == "other");
  CHECK(sessions.size() == 2);
}

TEST_CASE("a session idle for longer than the idle time is forgotten, a used one is kept", "[api][mcp]") {
  FakeClock clock;
  McpSessions sessions(clock, Ids{}, 10, std::chrono::minutes(30));
  std::string quiet = sessions.open("2025-11-25", "").id;
  std::string busy = sessions.open("2025-11-25", "").id;
  for (int i = 0; i < 3; ++i) {
    clock.advance(std::chrono::minutes(20));
    REQUIRE(sessions.find(busy));  // each use restarts its idle time
  }
  CHECK(sessions.find(quiet) == nullptr);
  CHECK(sessions.find(busy) != nullptr);
  clock.advance(std::chrono::minutes(31));
  sessions.open("2025-11-25", "");  // opening forgets the idle ones too
  CHECK(sessions.size() == 1);
}

TEST_CASE("at capacity the least recently used session makes room", "[api][mcp]") {
  FakeClock clock;
  McpSessions sessions(clock, Ids{}, 3);
  std::string a = sessions.open("2025-06-18", "").id;
  clock.advance(std::chrono::seconds(1));
  std::string b = sessions.open("2025-06-18", "").id;
  clock.advance(std::chrono::seconds(1));
  std::string c = sessions.open("2025-06-18", "").id;
  clock.advance(std::chrono::seconds(1));
  REQUIRE(sessions.find(a));  // a is now the most recently used: b goes
  clock.advance(std::chrono::seconds(1));
  std::string d = sessions.open("2025-06-18", "").id;
  CHECK(sessions.size() == 3);
  CHECK(sessions.find(b) == nullptr);
  CHECK((sessions.find(a) && sessions.find(c) && sessions.find(d)));
}
