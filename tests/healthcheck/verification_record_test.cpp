#include "healthcheck/verification_record.h"

#include <catch2/catch.hpp>

using namespace agentron;

namespace {
const char* kAppRecord = R"({"instance_id":"i-1","pid":42,"data_dir":"/var/lib/agentron/data","commit":"abc",)"
                         R"("agent_count":3,"run_count":17,"integrity":"ok","writer":"app"})";
}

TEST_CASE("an app's record with the contract's keys parses into counts", "[verification]") {
  auto r = parse_verification_record(kAppRecord);
  REQUIRE(r);
  CHECK(r->counts == std::map<std::string, std::int64_t>{{"agents", 3}, {"runs", 17}});
  CHECK(r->writer == "app");
  CHECK(check_verification_record(*r, "i-1", "/var/lib/agentron/data/").ok());
}

TEST_CASE("a record round-trips through JSON with the contract's keys", "[verification]") {
  VerificationRecord in{"i-2",
                        7,
                        "2026-11-27T00:00:00Z",
                        "2026-11-27T00:00:03Z",
                        "/d",
                        "c0ffee",
                        {{"agents", 1}, {"runs", 2}, {"tools", 3}},
                        "ok",
                        "supervisor"};
  auto j = to_json(in);
  CHECK(j["agent_count"] == 1);
  CHECK(j["run_count"] == 2);
  auto out = parse_verification_record(j.dump());
  REQUIRE(out);
  CHECK(out->counts == in.counts);
  CHECK(out->verified_at == in.verified_at);
}

TEST_CASE("a record is rejected with the reason", "[verification]") {
  auto r = parse_verification_record(kAppRecord);
  REQUIRE(r);
  auto other_instance = check_verification_record(*r, "i-9", "/var/lib/agentron/data");
  REQUIRE_FALSE(other_instance);
  CHECK(other_instance.error().code == "wrong_instance");
  auto other_dir = check_verification_record(*r, "i-1", "/srv/other");
  REQUIRE_FALSE(other_dir);
  CHECK(other_dir.error().message ==
        "the verification record's data_dir is \"/var/lib/agentron/data\", not the pinned data dir /srv/other");
  r->integrity = "*** in database main ***\nPage 5: btree page corrupt";
  auto corrupt = check_verification_record(*r, "i-1", "/var/lib/agentron/data");
  REQUIRE_FALSE(corrupt);
  CHECK(corrupt.error().code == "integrity_failed");
}

TEST_CASE("malformed records say what is wrong", "[verification]") {
  auto message = [](const std::string& text) {
    auto r = parse_verification_record(text);
    return r ? std::string("parsed") : r.error().message;
  };
  CHECK(message("{not json") == "the verification record is malformed: not JSON");
  CHECK(message("[1]") == "the verification record is malformed: not a JSON object");
  CHECK(message(R"({"agent_count":1})") == "the verification record is malformed: no \"instance_id\"");
  CHECK(message(R"({"instance_id":"i","agent_count":"1"})") ==
        "the verification record is malformed: count \"agents\" must be a whole number ≥ 0");
  CHECK(message(R"({"instance_id":"i"})") ==
        "the verification record is malformed: no counts (agent_count, run_count or \"counts\")");
  CHECK(message(R"({"instance_id":5,"agent_count":1})") ==
        "the verification record is malformed: \"instance_id\" must be a string");
}
