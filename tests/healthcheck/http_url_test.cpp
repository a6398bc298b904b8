#include <catch2/catch.hpp>

#include "healthcheck/http_probe.h"

using namespace agentron;

TEST_CASE("http urls split into host, port and target", "[readiness]") {
  auto u = parse_http_url("http://127.0.0.1:3000/api/setup/status?x=1");
  REQUIRE(u);
  CHECK(u->host == "127.0.0.1");
  CHECK(u->port == "3000");
  CHECK(u->target == "/api/setup/status?x=1");
  auto bare = parse_http_url("http://localhost");
  REQUIRE(bare);
  CHECK(bare->port == "80");
  CHECK(bare->target == "/");
  auto v6 = parse_http_url("http://[::1]:8080/x");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK(v6->port == "8080");
  CHECK_FALSE(parse_http_url("https://x/"));
  CHECK_FALSE(parse_http_url("http://x:port/"));
  CHECK_FALSE(parse_http_url("http:///path"));
}
