// json_nesting (common/json_depth.h): the depth a parser would build, strings skipped.
#include "common/json_depth.h"

#include <catch2/catch.hpp>
#include <string>

using namespace agentron;

TEST_CASE("json_nesting counts arrays and objects, not brackets inside strings", "[common][json]") {
  CHECK(json_nesting("3") == 0);
  CHECK(json_nesting("{}") == 1);
  CHECK(json_nesting(R"({"a":[1,{"b":[]}],"c":{}})") == 4);
  CHECK(json_nesting(R"({"a":"[[[[{{{{"})") == 1);
  CHECK(json_nesting(R"({"a":"\"[[[[","b":[]})") == 2);  // an escaped quote does not end the string
  CHECK(json_nesting(R"(["\\",[[]]])") == 3);            // an escaped backslash does
  std::string deep = std::string(131000, '[') + std::string(131000, ']');
  CHECK(json_nesting(deep) == 131000);
  CHECK(json_nesting("]]]]") == 0);
}
