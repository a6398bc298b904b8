#include "supervisor/release_store.h"

#include <catch2/catch.hpp>
#include <fstream>

#include "tests/temp_dir.h"

namespace agentron {

TEST_CASE("the current release reads back as it was written, with its previous one and request") {
  testing::TempDir tmp;
  ReleaseStore store(tmp.path / "current-release.json");
  CHECK_FALSE(store.read());
  REQUIRE(store.write({"abc", "/rel/abc"}, {"def", "/rel/def"}, "r-1"));
  auto current = store.read();
  REQUIRE(current);
  CHECK(current->release.commit == "abc");
  CHECK(current->release.dir == "/rel/abc");
  CHECK(current->previous.commit == "def");
  CHECK(current->previous.dir == "/rel/def");
  CHECK(current->request_id == "r-1");
  CHECK(current->since.size() >= 20);
  store.remove();
  CHECK_FALSE(store.read());
}

TEST_CASE("a current-release file that is not ours reads as none or as what is usable, never throwing") {
  testing::TempDir tmp;
  ReleaseStore store(tmp.path / "current-release.json");
  auto with = [&](const char* text) {
    std::ofstream(store.file()) << text;
    return store.read();
  };
  CHECK_FALSE(with("not json"));
  CHECK_FALSE(with("[1]"));
  CHECK_FALSE(with(R"({"dir": 5})"));
  CHECK_FALSE(with(R"({"commit": "abc"})"));
  auto odd = with(R"({"dir": "/rel/x", "commit": 7, "previous": "none", "request_id": []})");
  REQUIRE(odd);
  CHECK(odd->release.dir == "/rel/x");
  CHECK(odd->release.commit.empty());
  CHECK(odd->previous.dir.empty());
  CHECK(odd->request_id.empty());
}

}  // namespace agentron
