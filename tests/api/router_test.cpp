#include "api/router.h"

#include <catch2/catch.hpp>

using namespace agentron;

namespace {

ApiRequest req(std::string method, std::string path, std::string body = "", std::map<std::string, std::string> q = {}) {
  return ApiRequest{ApiRole::none, std::move(method), std::move(path), std::move(q), std::move(body)};
}

ApiError refused(const ApiRequest& r) {
  auto routed = route(r);
  REQUIRE(std::holds_alternative<ApiError>(routed));
  return std::get<ApiError>(routed);
}

template <typename Call>
Call routed_to(const ApiRequest& r) {
  auto routed = route(r);
  if (auto* e = std::get_if<ApiError>(&routed)) FAIL(e->message);
  auto& call = std::get<ApiCall>(routed);
  REQUIRE(std::holds_alternative<Call>(call));
  return std::get<Call>(call);
}

}  // namespace

TEST_CASE("each route becomes its typed call", "[router]") {
  routed_to<StatusRequest>(req("GET", "/v1/status"));
  routed_to<Ping>(req("GET", "/v1/ping"));
  CHECK(routed_to<GetHistory>(req("GET", "/v1/history", "", {{"limit", "5"}, {"kind", "crashed"}})).limit == 5);
  CHECK(routed_to<GetRequests>(req("GET", "/v1/requests")).limit == 50);
  CHECK(routed_to<GetRequest>(req("GET", "/v1/requests/r-1")).id == "r-1");
  auto post = routed_to<PostRestartRequest>(
      req("POST", "/v1/requests", R"({"branch":"b","commit":"abcdef1","summary":"s","when":"idle"})"));
  CHECK((post.branch == "b" && post.commit == "abcdef1" && post.when == "idle"));
  CHECK(routed_to<ApproveRequest>(req("POST", "/v1/requests/r-1/approve")).id == "r-1");
  auto deny = routed_to<DenyRequest>(req("POST", "/v1/requests/r-1/deny", R"({"reason":"not now"})"));
  CHECK((deny.id == "r-1" && deny.reason == "not now"));
  CHECK(routed_to<RollbackRequest>(req("POST", "/v1/rollback", R"({"reason":"slow"})")).reason == "slow");
  routed_to<GetBackups>(req("GET", "/v1/backups"));
  routed_to<PostBackup>(req("POST", "/v1/backups"));
  CHECK(routed_to<GetJob>(req("GET", "/v1/jobs/job-1")).id == "job-1");
  routed_to<ListTools>(req("GET", "/v1/tools"));
  CHECK(routed_to<CallTool>(req("POST", "/v1/tools/create_branch", R"({"name":"x"})")).tool->name == "create_branch");
}

TEST_CASE("approve, deny, rollback and a snapshot are the operator's alone; the rest the agent may call", "[router]") {
  auto call = [](std::string method, std::string path, std::string body = "") {
    auto routed = route(req(std::move(method), std::move(path), std::move(body)));
    REQUIRE(std::holds_alternative<ApiCall>(routed));
    return std::get<ApiCall>(routed);
  };
  CHECK(operator_only(call("POST", "/v1/requests/r-1/approve")));
  CHECK(operator_only(call("POST", "/v1/requests/r-1/deny", R"({"reason":"no"})")));
  CHECK(operator_only(call("POST", "/v1/rollback")));
  CHECK(operator_only(call("POST", "/v1/backups")));
  CHECK_FALSE(operator_only(call("POST", "/v1/requests", R"({"branch":"b","summary":"s"})")));
  CHECK_FALSE(operator_only(call("GET", "/v1/requests/r-1")));
  CHECK_FALSE(operator_only(call("GET", "/v1/backups")));
  CHECK_FALSE(operator_only(call("POST", "/v1/tools/launch_new_agentron", R"({"branch":"b","summary":"s"})")));
}

TEST_CASE("unknown paths are 404, known ones with another method 405", "[router]") {
  CHECK(refused(req("GET", "/v2/status")).status == 404);
  CHECK(refused(req("GET", "/v1/nope")).status == 404);
  CHECK(refused(req("DELETE", "/v1/status")).status == 405);
  CHECK(refused(req("GET", "/v1/tools/create_branch")).status == 405);
  auto unknown = refused(req("POST", "/v1/tools/rm_rf", "{}"));
  CHECK((unknown.status == 404 && unknown.code == "unknown_tool"));
}

TEST_CASE("bodies are checked before anything runs, naming the field", "[router]") {
  CHECK(refused(req("POST", "/v1/requests", "{not json")).message == "the body is not JSON");
  CHECK(refused(req("POST", "/v1/requests", "[1]")).message == "the body must be a JSON object");
  CHECK(refused(req("POST", "/v1/requests", R"({"branch":"b","summary":"s","build":"x"})")).message ==
        "unknown field \"build\"; the fields are branch, commit, summary, requested_by, run_id, when");
  CHECK(refused(req("POST", "/v1/requests", R"({"branch":5,"summary":"s"})")).message ==
        "field \"branch\" must be a string");
  CHECK(refused(req("POST", "/v1/requests", R"({"summary":"s"})")).message == "field \"branch\" is required");
  CHECK(refused(req("POST", "/v1/requests/x/approve", R"({"x":"y"})")).status == 400);
  auto tool = refused(req("POST", "/v1/tools/create_branch", R"({"name":"--upload-pack=x"})"));
  CHECK((tool.status == 400 && tool.message.rfind("create_branch: name: ", 0) == 0));
  CHECK(refused(req("GET", "/v1/history", "", {{"limit", "0"}})).message ==
        "limit must be a whole number from 1 to 1000");
  CHECK(refused(req("GET", "/v1/history", "", {{"limit", "5x"}})).status == 400);
}

TEST_CASE("error codes map to the fitting HTTP status", "[router]") {
  CHECK(http_status_for(control_error::no_such_request) == 404);
  CHECK(http_status_for(control_error::handover_in_flight) == 409);
  CHECK(http_status_for("backup_busy") == 409);
  CHECK(http_status_for("job_running") == 409);
  CHECK(http_status_for(control_error::shutting_down) == 503);
  CHECK(http_status_for(control_error::internal) == 500);
  CHECK(http_status_for("push_refused") == 400);
}

TEST_CASE("query strings are decoded", "[router]") {
  auto q = parse_query("limit=5&kind=handover%20done&flag&x=a+b");
  CHECK(q["limit"] == "5");
  CHECK(q["kind"] == "handover done");
  CHECK(q.count("flag") == 1);
  CHECK(q["x"] == "a b");
  CHECK(parse_query("").empty());
}

TEST_CASE("a tool's optional field sent as null counts as left out; a required one is still required", "[router]") {
  auto call = routed_to<CallTool>(req("POST", "/v1/tools/run_build_agentron", R"({"wait_seconds":null})"));
  CHECK_FALSE(call.input.contains("wait_seconds"));
  CHECK(refused(req("POST", "/v1/tools/create_branch", R"({"name":null})")).message ==
        "create_branch: name: is required");
}
