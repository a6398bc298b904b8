#include "config/placeholders.h"

#include <catch2/catch.hpp>

using namespace agentron;

TEST_CASE("placeholders expand", "[placeholders]") {
  PlaceholderValues v{"/opt/r", "3101", "/data", "i-1"};
  CHECK(expand_placeholders("{release}/server.js", v) == "/opt/r/server.js");
  CHECK(expand_placeholders("http://127.0.0.1:{port}/x", v) == "http://127.0.0.1:3101/x");
  CHECK(expand_placeholders("{data_dir}/{instance_id}", v) == "/data/i-1");
  CHECK(expand_placeholders("{{literal}} {port}", v) == "{literal} 3101");
  CHECK(expand_placeholders("plain", v) == "plain");
}

TEST_CASE("malformed placeholders are reported", "[placeholders]") {
  CHECK_FALSE(check_placeholders("{release}/x").has_value());
  CHECK(check_placeholders("{relase}/x").value().find("unknown placeholder {relase}") != std::string::npos);
  CHECK(check_placeholders("{release").value().find("unclosed") != std::string::npos);
  CHECK(check_placeholders("a}b").value().find("stray") != std::string::npos);
}
