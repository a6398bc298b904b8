#include "history/history.h"

#include <catch2/catch.hpp>

#include "tests/temp_dir.h"

using namespace agentron;
using agentron::testing::TempDir;

namespace {

HistoryEvent event_of(const std::string& kind, const std::string& instance) {
  HistoryEvent e;
  e.kind = kind;
  e.instance_id = instance;
  e.pid = 42;
  e.detail = kind + " of " + instance;
  return e;
}

}  // namespace

TEST_CASE("a new ledger is at the current schema version, in WAL mode", "[history]") {
  TempDir dir;
  auto h = History::open(dir.path / "history.sqlite");
  REQUIRE(h);
  CHECK(*h->schema_version() == History::kSchemaVersion);
  auto db = SqliteDb::open(dir.path / "history.sqlite", SqliteDb::Mode::read_write);
  REQUIRE(db);
  CHECK(*db->query_text("PRAGMA journal_mode") == "wal");
}

TEST_CASE("events read back newest first, counts included", "[history]") {
  TempDir dir;
  auto h = History::open(dir.path / "history.sqlite");
  REQUIRE(h);
  REQUIRE(h->record(event_of(event::instance_started, "i-1")));
  HistoryEvent verified = event_of(event::verified, "i-1");
  verified.counts = {{"agents", 3}, {"runs", 9}};
  verified.integrity = "ok";
  REQUIRE(h->record(verified));
  REQUIRE(h->record(event_of(event::instance_exited, "i-1")));
  auto events = h->events(10);
  REQUIRE(events);
  REQUIRE(events->size() == 3);
  CHECK((*events)[0].kind == event::instance_exited);
  CHECK((*events)[1].counts == verified.counts);
  CHECK((*events)[1].integrity == "ok");
  CHECK((*events)[2].at <= (*events)[0].at);  // ISO 8601 text sorts in time order
  auto last = h->last_of({event::verified, event::verification_failed});
  REQUIRE(last);
  REQUIRE(last->has_value());
  CHECK((*last)->instance_id == "i-1");
}

TEST_CASE("a version 1 ledger migrates forward with its rows kept", "[history]") {
  TempDir dir;
  auto path = dir.path / "history.sqlite";
  {
    auto v1 = History::create_at_version(path, 1);
    REQUIRE(v1);
    REQUIRE(*v1->schema_version() == 1);
    // Written the way version 1 wrote it: no counts, integrity or request_id columns yet.
    auto db = SqliteDb::open(path, SqliteDb::Mode::read_write);
    REQUIRE(db);
    REQUIRE(
        db->exec("INSERT INTO events (at, kind, instance_id, pid, detail) VALUES "
                 "('2026-01-01T00:00:00.000Z', 'instance_started', 'old-1', 7, 'from v1')"));
  }
  auto h = History::open(path);
  REQUIRE(h);
  CHECK(*h->schema_version() == History::kSchemaVersion);
  auto events = h->events(10);
  REQUIRE(events);
  REQUIRE(events->size() == 1);
  CHECK((*events)[0].instance_id == "old-1");
  CHECK((*events)[0].detail == "from v1");
  CHECK((*events)[0].counts.empty());
  HistoryRequest r;
  r.id = "req-1";
  r.state = "requested";
  r.branch = "agent-improvement/x";
  REQUIRE(h->upsert_request(r));  // the tables version 2 added work
}

TEST_CASE("a ledger from a newer version is refused and left unchanged", "[history]") {
  TempDir dir;
  auto path = dir.path / "history.sqlite";
  {
    auto db = SqliteDb::open(path, SqliteDb::Mode::create);
    REQUIRE(db);
    REQUIRE(db->exec("CREATE TABLE future (x); PRAGMA user_version = 99"));
  }
  auto h = History::open(path);
  REQUIRE_FALSE(h);
  CHECK(h.error().code == "history_too_new");
  CHECK_THAT(h.error().message, Catch::Contains("schema version 99, newer than this supervisor knows (2)"));
  auto db = SqliteDb::open(path, SqliteDb::Mode::read_write);
  REQUIRE(db);
  CHECK(*db->query_int("PRAGMA user_version") == 99);
  CHECK_FALSE(db->query_int("SELECT count(*) FROM events"));  // nothing was created
}

TEST_CASE("a request is one row, updated in place, with its phases beside it", "[history]") {
  TempDir dir;
  auto h = History::open(dir.path / "history.sqlite");
  REQUIRE(h);
  HistoryRequest r;
  r.id = "req-1";
  r.branch = "agent-improvement/faster";
  r.commit = "abc123";
  r.summary = "faster search";
  r.state = "building_release";
  REQUIRE(h->upsert_request(r));
  REQUIRE(h->add_phase("req-1", "building_release", ""));
  r.state = "done";
  r.baseline_counts = {{"agents", 2}};
  r.verified_counts = {{"agents", 2}};
  REQUIRE(h->upsert_request(r));
  REQUIRE(h->add_phase("req-1", "done", ""));
  auto requests = h->requests(10);
  REQUIRE(requests);
  REQUIRE(requests->size() == 1);
  CHECK((*requests)[0].state == "done");
  CHECK((*requests)[0].summary == "faster search");
  CHECK((*requests)[0].verified_counts.at("agents") == 2);
}
