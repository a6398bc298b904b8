#include "backup/snapshot.h"

#include <catch2/catch.hpp>

#include "backup/manifest.h"

using namespace agentron;

TEST_CASE("the supervisor's own folders and the backup dir are never snapshotted", "[snapshot]") {
  CHECK(is_excluded(".supervisor", {}, ""));
  CHECK(is_excluded("backups", {}, ""));
  CHECK(is_excluded("snaps", {}, "snaps"));
  CHECK_FALSE(is_excluded("files", {}, ""));
  CHECK_FALSE(is_excluded("files/backups", {}, ""));  // only at the top
}

TEST_CASE("exclude globs match a path or any folder above it", "[snapshot]") {
  std::vector<std::string> exclude = {"logs", "*.tmp", "cache/*"};
  CHECK(is_excluded("logs", exclude, ""));
  CHECK(is_excluded("logs/today.log", exclude, ""));
  CHECK(is_excluded("x.tmp", exclude, ""));
  CHECK_FALSE(is_excluded("files/x.tmp", exclude, ""));  // '*' does not cross '/'
  CHECK(is_excluded("cache/a/b", exclude, ""));
  CHECK_FALSE(is_excluded("cachet", exclude, ""));
}

TEST_CASE("a manifest round-trips through JSON", "[manifest]") {
  Manifest m;
  m.name = "manual-20261127T055106Z";
  m.kind = "manual";
  m.created_at = "2026-11-27T05:51:06Z";
  m.data_dir = "/d";
  m.bytes = 10;
  m.entries.push_back({"agentron.sqlite", EntryType::sqlite, 8192, 0644, 123, "ab", "", "ok", {{"agents", 2}}});
  m.entries.push_back({"link", EntryType::symlink, 0, 0777, 5, "", "/etc/passwd", "", {}});
  m.skipped.push_back({"pipe", "FIFO"});
  auto parsed = Manifest::parse(m.to_json());
  REQUIRE(parsed.ok());
  CHECK(parsed->to_json() == m.to_json());
  CHECK(parsed->entries[0].counts.at("agents") == 2);
  CHECK(parsed->entries[1].target == "/etc/passwd");
}

TEST_CASE("anything but this tool's manifest is refused", "[manifest]") {
  CHECK_FALSE(Manifest::parse("{}").ok());
  CHECK_FALSE(Manifest::parse("not json").ok());
  CHECK_FALSE(Manifest::parse(R"({"tool":"agentron-supervisor","format":99,"entries":[]})").ok());
  CHECK(Manifest::parse(R"({"tool":"agentron-supervisor","format":99,"entries":[]})").error().message ==
        "manifest format 99 is not supported");
}

TEST_CASE("a manifest with fields of the wrong type is refused and never thrown", "[manifest]") {
  // Anything that can write the backups folder can write these (docs/security.md).
  for (const char* text : {R"({"tool":5,"entries":[]})", R"({"tool":"agentron-supervisor","format":"1","entries":[]})",
                           R"({"tool":"agentron-supervisor","format":1,"entries":[{"path":7}]})",
                           R"({"tool":"agentron-supervisor","format":1,"entries":"all"})"}) {
    INFO(text);
    Result<Manifest> parsed = Error{"", ""};
    REQUIRE_NOTHROW(parsed = Manifest::parse(text));
    CHECK_FALSE(parsed.ok());
    CHECK(parsed.error().code == "bad_manifest");
  }
}
