#include "supervisor/restart_request.h"

#include <catch2/catch.hpp>

using namespace agentron;

TEST_CASE("a valid request parses", "[request]") {
  auto r = parse_restart_request(
      R"({"branch":"agent-improvement/faster","commit":"0123abcd","summary":"faster","run_id":"r1"})", "id-1");
  REQUIRE(r);
  CHECK(r->id == "id-1");
  CHECK(r->branch == "agent-improvement/faster");
  CHECK(r->run_id == "r1");
}

TEST_CASE("bad requests are refused with the reason", "[request]") {
  auto why = [](const std::string& text) {
    auto r = parse_restart_request(text, "x");
    return r ? std::string("ok") : r.error().message;
  };
  CHECK(why("{") == "not JSON");
  CHECK(why(R"({"branch":"b","commit":"0123abcd","summary":"s","build":"rm -rf /"})") ==
        "unknown key \"build\"; a request has branch, commit, summary, requested_by, run_id, when");
  CHECK(why(R"({"commit":"0123abcd","summary":"s"})") == "missing \"branch\"");
  CHECK(why(R"({"branch":"a..b","commit":"0123abcd","summary":"s"})") == "\"a..b\" is not a valid branch name");
  CHECK(why(R"({"branch":"b","commit":"xyz","summary":"s"})") ==
        "commit \"xyz\" is not a commit id (7 to 40 hex digits)");
  CHECK(why(R"({"branch":"b","commit":5,"summary":"s"})") == "\"commit\" must be a string");
}

TEST_CASE("branch names follow git's rules", "[request]") {
  for (const char* ok : {"main", "agent-improvement/x", "feature/a.b", "v1.2"}) CHECK(valid_branch_name(ok));
  for (const char* bad : {"",     "-x", "a..b", "a b", "a~1",  "a^",      "a:b",  "a?",     "a*",    "a[",
                          "a\\b", "/a", "a/",   "a.",  "a//b", ".hidden", "a/.b", "x.lock", "a@{1}", "@"}) {
    CHECK_FALSE(valid_branch_name(bad));
  }
}

TEST_CASE("a request's when is now or idle, nothing else", "[restart_request]") {
  auto parse = [](const std::string& when) {
    return parse_restart_request(R"({"branch":"b","commit":"0123abcd","summary":"s","when":")" + when + "\"}", "x");
  };
  CHECK(parse("idle")->when == "idle");
  CHECK(parse("now")->when == "now");
  CHECK(parse_restart_request(R"({"branch":"b","commit":"0123abcd","summary":"s"})", "x")->when == "now");
  auto later = parse("later");
  REQUIRE_FALSE(later);
  CHECK(later.error().message == "\"when\" must be \"now\" or \"idle\"");
}
