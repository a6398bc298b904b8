#include "api/json_schema.h"

#include <catch2/catch.hpp>

#include "api/tool_catalog.h"

using namespace agentron;
using nlohmann::json;

namespace {

std::string problem(const json& schema, const json& value) {
  auto s = validate_json(schema, value);
  return s ? "" : s.error().message;
}

const json& schema_of(const std::string& tool) {
  const ToolSpec* spec = find_tool(tool);
  REQUIRE(spec != nullptr);
  return spec->input_schema;
}

}  // namespace

TEST_CASE("every tool's schema uses only the keywords the validator understands", "[json_schema]") {
  for (const auto& tool : tool_catalog()) {
    INFO(tool.name);
    CHECK(check_schema_subset(tool.input_schema));
    CHECK(tool.input_schema["type"] == "object");
    CHECK(tool.input_schema["additionalProperties"] == false);
  }
  CHECK_FALSE(check_schema_subset(json{{"type", "object"}, {"oneOf", json::array()}}));
}

TEST_CASE("an unknown field is refused, naming it and the known ones", "[json_schema]") {
  CHECK(problem(schema_of("create_branch"), {{"name", "x"}, {"build", "rm -rf /"}}) ==
        "input: unknown field \"build\"; the fields are name");
  CHECK(problem(schema_of("push_to_fork"), {{"remote", "upstream"}}) ==
        "input: unknown field \"remote\"; this takes no fields");
}

TEST_CASE("a missing required field and a wrong type are named", "[json_schema]") {
  CHECK(problem(schema_of("create_branch"), json::object()) == "name: is required");
  CHECK(problem(schema_of("create_branch"), {{"name", 5}}) == "name: must be a string");
  CHECK(problem(schema_of("run_build_agentron"), {{"wait_seconds", "25"}}) == "wait_seconds: must be an integer");
  CHECK(problem(schema_of("run_build_agentron"), {{"wait_seconds", 241}}) == "wait_seconds: must be at most 240");
  CHECK(problem(schema_of("launch_new_agentron"), {{"branch", "b"}, {"summary", "s"}, {"when", "later"}}) ==
        "when: must be one of [\"now\",\"idle\"]");
  CHECK(problem(schema_of("commit_changes"), "text").rfind("input: must be an object", 0) == 0);
}

TEST_CASE("branch names that could be options or escape are refused", "[json_schema]") {
  const json& schema = schema_of("create_branch");
  for (const char* bad : {"-x", "--upload-pack=touch /tmp/p", "a..b", "../up", "a//b", "x.lock", "x/", "a b", ""}) {
    INFO(bad);
    CHECK_FALSE(problem(schema, {{"name", bad}}).empty());
  }
  for (const char* good : {"faster-search", "feature/x.y", "v1_2"}) {
    INFO(good);
    CHECK(problem(schema, {{"name", good}}).empty());
  }
}

TEST_CASE("commit paths must be relative, without a .. part, and never an option", "[json_schema]") {
  const json& schema = schema_of("commit_changes");
  for (const char* bad : {"../x", "a/../../b", "..", "/etc/passwd", "-rf", "--all"}) {
    INFO(bad);
    CHECK_THAT(problem(schema, {{"message", "m"}, {"paths", {"ok.txt", bad}}}), Catch::StartsWith("paths[1]: "));
  }
  CHECK(problem(schema, {{"message", "m"}, {"paths", {"docs/a..b.md", "src/x.ts", ".github/ci.yml"}}}).empty());
}

TEST_CASE("string lengths count characters, not bytes", "[json_schema]") {
  json schema = {{"type", "string"}, {"maxLength", 2}};
  CHECK(problem(schema, "\xc3\xa9\xc3\xa9").empty());  // "éé"
  CHECK_FALSE(problem(schema, "abc").empty());
}

TEST_CASE("fork tools become agentron-fork arguments that no input can turn into options", "[tool_catalog]") {
  CHECK(fork_arguments(*find_tool("create_branch"), {{"name", "x"}}) ==
        std::vector<std::string>{"create-branch", "--", "x"});
  CHECK(fork_arguments(*find_tool("commit_changes"), {{"message", "-m --amend"}, {"paths", {"a", "b"}}}) ==
        std::vector<std::string>{"commit", "--message=-m --amend", "--", "a", "b"});
  CHECK(fork_arguments(*find_tool("clone_or_pull_agentron"), {{"branch", "b"}}) ==
        std::vector<std::string>{"clone-or-pull", "--branch=b"});
  CHECK(fork_arguments(*find_tool("ensure_agentron_fork"), {{"create", true}}) ==
        std::vector<std::string>{"ensure-fork", "--create"});
  CHECK(wait_seconds(*find_tool("run_build_agentron"), json::object()) == kDefaultWaitSeconds);
  CHECK(wait_seconds(*find_tool("run_build_agentron"), {{"wait_seconds", 3}}) == 3);
  CHECK(wait_seconds(*find_tool("push_to_fork"), json::object()) == kMaxWaitSeconds);
}

TEST_CASE("the catalog has the seed's nine tools and the four status tools", "[tool_catalog]") {
  for (const char* name :
       {"ensure_agentron_fork", "clone_or_pull_agentron", "create_branch", "commit_changes", "push_to_fork",
        "run_build_agentron", "run_tests_agentron", "sync_fork_from_upstream", "launch_new_agentron",
        "platform_history", "restart_status", "supervisor_status", "job_status"}) {
    INFO(name);
    CHECK(find_tool(name) != nullptr);
  }
  CHECK(tool_catalog().size() == 13);
}
